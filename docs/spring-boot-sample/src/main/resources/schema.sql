CREATE TABLE IF NOT EXISTS sample_inventory (
    item     TEXT PRIMARY KEY,
    quantity INTEGER NOT NULL CHECK (quantity >= 0)
);
