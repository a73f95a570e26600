-- rebuild: task_facts
-- Tasks as documents write them (issue 21): a task may have no deadline ("không có thời hạn":
-- tracked, never chased, counted apart in compliance), and its due is kept in the document's
-- words beside the instant; an item may be unnumbered. Never edit this file once it has landed: add a new migration.
ALTER TABLE task_facts ALTER COLUMN original_due DROP NOT NULL;
ALTER TABLE task_facts ALTER COLUMN due DROP NOT NULL;
ALTER TABLE task_facts ADD COLUMN due_text text;
-- Items a document does not number have no marker.
ALTER TABLE task_facts ALTER COLUMN item DROP NOT NULL;
