-- The retailer's own time zone (the program's retailer.time_zone), kept so
-- that what is reported by day (the admin dashboard) is reported in the
-- retailer's days; expiry policies keep their own copy, settled when applied.
ALTER TABLE retailers ADD COLUMN time_zone text;
