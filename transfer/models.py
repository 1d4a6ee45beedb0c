"""Sale of the business: checklist, notices, approvals, sealed package (to come)."""
