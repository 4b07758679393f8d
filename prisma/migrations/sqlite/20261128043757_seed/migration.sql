-- Data only (written by hand; `npm run db:migration -- seed --empty` made the folder).
-- A migration runs exactly once per database, so however many replicas start together these
-- rows are inserted once.

-- The built-in module classes: PyTorch's own custom modules for FX quantization
-- (torch.ao.quantization.fx: the observed LSTM/MultiheadAttention and their quantized forms).
-- Time stamps in the format the Prisma SQLite adapter writes (ISO 8601, UTC, milliseconds).
INSERT INTO "module_class" ("id", "from_observed", "description", "built_in", "created_at", "updated_at") VALUES
    ('torch.ao.nn.quantizable.LSTM', false,
     'Observed LSTM: the float module PyTorch swaps in for nn.LSTM during prepare, carrying observers.',
     true, strftime('%Y-%m-%dT%H:%M:%f+00:00', 'now'), strftime('%Y-%m-%dT%H:%M:%f+00:00', 'now')),
    ('torch.ao.nn.quantized.LSTM', true,
     'Quantized LSTM, built from an observed torch.ao.nn.quantizable.LSTM by from_observed.',
     true, strftime('%Y-%m-%dT%H:%M:%f+00:00', 'now'), strftime('%Y-%m-%dT%H:%M:%f+00:00', 'now')),
    ('torch.ao.nn.quantizable.MultiheadAttention', false,
     'Observed MultiheadAttention: the float module PyTorch swaps in for nn.MultiheadAttention during prepare.',
     true, strftime('%Y-%m-%dT%H:%M:%f+00:00', 'now'), strftime('%Y-%m-%dT%H:%M:%f+00:00', 'now')),
    ('torch.ao.nn.quantized.MultiheadAttention', true,
     'Quantized MultiheadAttention, built from an observed torch.ao.nn.quantizable.MultiheadAttention by from_observed.',
     true, strftime('%Y-%m-%dT%H:%M:%f+00:00', 'now'), strftime('%Y-%m-%dT%H:%M:%f+00:00', 'now'));

-- The secret that signs page tokens: 32 random bytes from the database, as lowercase hex.
INSERT INTO "registry_meta" ("key", "value") VALUES ('page_token_key', lower(hex(randomblob(32))));
