"""SQLAlchemy models. Services and tasks use them; ``sdc.core`` never does."""

from sdc.models.base import utcnow
from sdc.models.collab import Comment, Invite, Notification, Presence, ProjectMember
from sdc.models.history import VersionHistory
from sdc.models.ops import AuditLog, JobTelemetry, RequestTelemetry
from sdc.models.project import Project, Version
from sdc.models.report import ReportExport, ShareLink
from sdc.models.run import GradeReport, SimulationRun
from sdc.models.scenario import Scenario
from sdc.models.status import Incident, WorkerHeartbeat
from sdc.models.user import ApiToken, User

__all__ = [
    "ApiToken",
    "AuditLog",
    "Comment",
    "JobTelemetry",
    "Notification",
    "Presence",
    "RequestTelemetry",
    "GradeReport",
    "Incident",
    "Invite",
    "Project",
    "ProjectMember",
    "ReportExport",
    "Scenario",
    "ShareLink",
    "SimulationRun",
    "User",
    "Version",
    "VersionHistory",
    "WorkerHeartbeat",
    "utcnow",
]
