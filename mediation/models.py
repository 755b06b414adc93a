"""Import every domain's models so that metadata (and Alembic) see the whole schema."""

from mediation.appointments.models import *  # noqa: F403
from mediation.audit.models import *  # noqa: F403
from mediation.auth.models import *  # noqa: F403
from mediation.badges.models import *  # noqa: F403
from mediation.cases.exchange_models import *  # noqa: F403
from mediation.cases.models import *  # noqa: F403
from mediation.coordination.models import *  # noqa: F403
from mediation.directory.models import *  # noqa: F403
from mediation.directory.notifications import CoordinationNotification, StructureNotification  # noqa: F401
from mediation.equipment.models import *  # noqa: F403
from mediation.evaluation.models import *  # noqa: F403
from mediation.jobs.models import *  # noqa: F403
from mediation.mandates.models import *  # noqa: F403
from mediation.pathways.models import *  # noqa: F403
from mediation.snapshots import Snapshot  # noqa: F401
from mediation.stats.models import *  # noqa: F403
from mediation.training.models import *  # noqa: F403
