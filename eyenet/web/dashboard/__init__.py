"""The dashboard EyeNet serves at ``/``: its built files (static/, made by
scripts/build-dashboard.sh from dashboard/) and the module that serves them."""
