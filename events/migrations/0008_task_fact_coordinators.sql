-- rebuild: task_facts
-- The units coordinating a task (đơn vị phối hợp): their task boards show it beside the tasks
-- they lead. Filled from the events by the rebuild `campaign migrate` runs after this.
ALTER TABLE task_facts ADD COLUMN coordinating_unit_ids uuid[] NOT NULL DEFAULT '{}';
CREATE INDEX task_facts_by_coordinator ON task_facts USING gin (coordinating_unit_ids);
