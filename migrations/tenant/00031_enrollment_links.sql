-- What an accepted enrollment application did between the applicant and the child (decision 0044): the child
-- was new and is linked to the applicant; the applicant was linked already; the office linked the applicant
-- to a child the body already knew, for the reason written here; or it accepted without linking them.
-- (One change per statement: Citus refuses an ALTER TABLE that adds a constraint beside other changes.)
alter table applications add column child_link text;
alter table applications add column child_link_reason text;
alter table applications add constraint applications_child_link_check
  check (child_link in ('nuovo', 'gia_collegato', 'collegato', 'non_collegato'));
alter table applications add constraint applications_child_link_reason_check
  check (length(child_link_reason) between 1 and 1000);
alter table applications add constraint applications_child_link_reason
  check ((child_link = 'collegato') = (child_link_reason is not null));
