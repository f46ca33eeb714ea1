-- The dashboard's most common filter is a status: this index lets the list seek to it instead of
-- reading the merchant's payments row by row until a page matches (measured: benchmarks/bench_dashboard.py).
CREATE INDEX payments_by_merchant_status ON payments (merchant_id, livemode, status, created_at, id);
