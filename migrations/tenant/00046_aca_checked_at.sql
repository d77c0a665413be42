-- The archive pass looks at the positions already in the central archive in turn, the longest unchecked first
-- (decision 0100, "in turn"): when each was last compared with what the archive holds. New positions and those
-- to send come before them, so a body with more live positions than a pass takes is never starved of new ones.
alter table aca_positions add column checked_at timestamptz;
create index aca_positions_in_turn on aca_positions (checked_at nulls first) where state = 'in_archivio';
