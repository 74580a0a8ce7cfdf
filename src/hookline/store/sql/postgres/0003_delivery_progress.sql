-- How far a delivery made of several sends got in its current attempt series (Telegram:
-- how many parts of a long message were sent), so a retry goes on from there instead of
-- sending the earlier parts again. A replay starts a new series from 0.
ALTER TABLE deliveries ADD COLUMN progress integer NOT NULL DEFAULT 0;
