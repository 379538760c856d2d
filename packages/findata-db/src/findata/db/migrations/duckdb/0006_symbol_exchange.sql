-- The exchange each symbol trades on, as an ISO MIC ('XNYS', 'XLON'; aliases such as
-- 'XNAS' as the user named them): the calendar its sessions, regular hours and coverage
-- are judged against (ADR 0076). Symbols stored before it trade on XNYS, the default.

ALTER TABLE symbols ADD COLUMN exchange VARCHAR DEFAULT 'XNYS';
UPDATE symbols SET exchange = 'XNYS' WHERE exchange IS NULL;
