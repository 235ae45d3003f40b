"""Annotations on an EventReplay that the chart's approval policy (ValidatingAdmissionPolicy) judges.

The API server compares both with the authenticated user of the write (request.userInfo.username),
so their values are identities, not claims: see charts/eventreplay-operator/templates/approval-policy.yaml.
"""

from __future__ import annotations

from .resource import GROUP

APPROVED_BY = f"{GROUP}/approved-by"
"""Who set spec.promotion.approvedReportHash: written in the same write as the hash."""
CREATED_BY = f"{GROUP}/created-by"
"""Who created the EventReplay: set at create, immutable; four-eyes refuses this user as approver."""
