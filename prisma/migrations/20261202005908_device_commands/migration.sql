-- CreateTable
CREATE TABLE "device_commands" (
    "id" SERIAL NOT NULL,
    "device_id" INTEGER NOT NULL,
    "created_by" INTEGER,
    "method" VARCHAR(128) NOT NULL,
    "params" JSONB NOT NULL DEFAULT '{}',
    "state" VARCHAR(16) NOT NULL DEFAULT 'QUEUED',
    "result" JSONB,
    "error" TEXT,
    "timeout_sec" INTEGER NOT NULL,
    "owner" VARCHAR(200),
    "transport" VARCHAR(16),
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "sent_at" TIMESTAMPTZ(3),
    "delivered_at" TIMESTAMPTZ(3),
    "completed_at" TIMESTAMPTZ(3),
    "expires_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "device_commands_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "device_commands_device_id_id_idx" ON "device_commands"("device_id", "id");

-- CreateIndex
CREATE INDEX "device_commands_state_expires_at_idx" ON "device_commands"("state", "expires_at");

-- AddForeignKey
ALTER TABLE "device_commands" ADD CONSTRAINT "device_commands_device_id_fkey" FOREIGN KEY ("device_id") REFERENCES "devices"("id") ON DELETE CASCADE ON UPDATE CASCADE;
