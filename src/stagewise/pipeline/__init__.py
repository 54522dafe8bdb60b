"""The pipeline layer: plans a run for a stage, runs its tiers, keeps the record."""
