-- What an accepted enrollment application did between the applicant and the child (decision 0044): the child
-- was new and is linked to the applicant; the applicant was linked already; the office linked the applicant
-- to a child the body already knew, for the reason written here; or it accepted without linking them.
alter table applications
  add column child_link text check (child_link in ('nuovo', 'gia_collegato', 'collegato', 'non_collegato')),
  add column child_link_reason text check (length(child_link_reason) between 1 and 1000),
  add constraint applications_child_link_reason check ((child_link = 'collegato') = (child_link_reason is not null));
