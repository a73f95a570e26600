-- rebuild: unit_directory
-- A unit's short code as it looks (issue 20), so that a command finds the siblings whose code
-- looks like a new one by index instead of reading every sibling's code and comparing them in
-- Python: registering the 10,000th unit under one parent then costs what the 10th did.
-- Never edit this file once it has landed: add a new numbered migration instead.
--
-- `code_look` is `services.domain.text.code_look(short_code)` (NFKC, upper case, the UTS #39
-- confusable skeleton), written by the unit_directory read model; the rebuild this migration
-- asks for fills it for the units already registered.

ALTER TABLE unit_directory ADD COLUMN code_look text NOT NULL DEFAULT '';

CREATE INDEX unit_directory_by_look ON unit_directory (parent_id, code_look)
    WHERE status = 'active';
CREATE INDEX unit_directory_root_look ON unit_directory (code_look)
    WHERE status = 'active' AND parent_id IS NULL;
