"""Reading user files into frames safely (CSV, Excel, JSON, Parquet), hashing frames, and sample data."""
