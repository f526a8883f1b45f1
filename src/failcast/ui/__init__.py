"""The web dashboard: NiceGUI pages mounted on the FastAPI app, calling its REST API."""

from failcast.ui.mount import MOUNT_PATH, mount_dashboard

__all__ = ["MOUNT_PATH", "mount_dashboard"]
