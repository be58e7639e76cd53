"""Outputs of an assessment: the assessment JSON document and the self-contained HTML report."""
