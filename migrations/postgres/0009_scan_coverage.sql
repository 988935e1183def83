-- Coverage: what each tool of a scan can detect when it runs (JSON map tool -> categories), so a
-- control whose kind of scanner did not run is `not_assessed` instead of passing. NULL for scans
-- ingested before coverage was recorded (derived from their tools then). Assessments merge the
-- newest scan of each tool by receive time, hence the second index.
ALTER TABLE scans ADD COLUMN coverage TEXT;
CREATE INDEX scans_by_repo_received ON scans (org_id, repo_id, received_at);
