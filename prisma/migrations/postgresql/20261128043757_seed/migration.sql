-- Data only (written by hand; `npm run db:migration -- seed --empty` made the folder).
-- A migration runs exactly once per database, so however many replicas start together these
-- rows are inserted once.

-- The built-in module classes: PyTorch's own custom modules for FX quantization
-- (torch.ao.quantization.fx: the observed LSTM/MultiheadAttention and their quantized forms).
-- Time stamps in UTC, as Prisma stores DateTime in a TIMESTAMP column, whatever the server TimeZone.
INSERT INTO "module_class" ("id", "from_observed", "description", "built_in", "created_at", "updated_at") VALUES
    ('torch.ao.nn.quantizable.LSTM', false,
     'Observed LSTM: the float module PyTorch swaps in for nn.LSTM during prepare, carrying observers.',
     true, now() AT TIME ZONE 'UTC', now() AT TIME ZONE 'UTC'),
    ('torch.ao.nn.quantized.LSTM', true,
     'Quantized LSTM, built from an observed torch.ao.nn.quantizable.LSTM by from_observed.',
     true, now() AT TIME ZONE 'UTC', now() AT TIME ZONE 'UTC'),
    ('torch.ao.nn.quantizable.MultiheadAttention', false,
     'Observed MultiheadAttention: the float module PyTorch swaps in for nn.MultiheadAttention during prepare.',
     true, now() AT TIME ZONE 'UTC', now() AT TIME ZONE 'UTC'),
    ('torch.ao.nn.quantized.MultiheadAttention', true,
     'Quantized MultiheadAttention, built from an observed torch.ao.nn.quantizable.MultiheadAttention by from_observed.',
     true, now() AT TIME ZONE 'UTC', now() AT TIME ZONE 'UTC');

-- The secret that signs page tokens: 32 bytes as lowercase hex. PostgreSQL 15 has no built-in
-- random-bytes function without pgcrypto, so this hashes two random (v4) UUIDs (244 random bits)
-- and the clock.
INSERT INTO "registry_meta" ("key", "value") VALUES (
    'page_token_key',
    encode(sha256(convert_to(gen_random_uuid()::text || gen_random_uuid()::text || clock_timestamp()::text, 'UTF8')), 'hex')
);
