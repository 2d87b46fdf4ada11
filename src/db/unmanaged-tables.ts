/**
 * Tables wirehub creates with hand-written migration SQL and manages itself, outside
 * prisma/schema.prisma: telemetry is partitioned by day (Prisma cannot describe a partitioned
 * table or its runtime-created partitions) and its rollups are written only with raw SQL.
 *
 * The schema-drift checks (the migrations test, `npm run db:migration:new`) compare the database
 * with schema.prisma; Prisma would propose to drop these tables, so the statements that concern
 * only them are left out of the diff (`withoutUnmanaged` in migrator.ts). Any other difference
 * still counts as drift. A new raw-SQL table must be added here, with its migration.
 */
export const UNMANAGED_TABLES: readonly RegExp[] = [/^telemetry$/, /^telemetry_p[0-9]{8}$/, /^telemetry_default$/, /^telemetry_1[mh]$/]

export function isUnmanagedTable(name: string): boolean {
  return UNMANAGED_TABLES.some((re) => re.test(name))
}
