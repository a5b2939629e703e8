"""The deliberation API's routers, one per slice, mounted by gridgov.api under /api/deliberation/."""

from . import api_effect, api_execution, api_meetings, api_platform, api_proposals

ROUTERS = (("/deliberation/topics", api_proposals.router), ("/deliberation/platform", api_platform.router),
           ("/deliberation/meetings", api_meetings.router), ("/deliberation/execution", api_execution.router),
           ("/deliberation/effect", api_effect.router))
