-- AlterTable
ALTER TABLE "servers" ADD COLUMN     "cpu_limit" INTEGER NOT NULL DEFAULT 0,
ADD COLUMN     "disk_limit_mb" INTEGER NOT NULL DEFAULT 0;
