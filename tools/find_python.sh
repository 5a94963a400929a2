# Sourced by the shell launchers (dist_*.sh, slurm_*.sh) once ROOT is set:
# chooses the interpreter for the Python tools. An explicit PYTHON wins;
# else the project's environment, $ROOT/.venv (tools/setup_env.sh), when it
# exists; else `python` on PATH (an activated or existing environment, e.g.
# the copy of these tools that `pip install .` puts in mmkd_ext/.mim/tools).
if [ -z "${PYTHON:-}" ]; then
  if [ -x "$ROOT/.venv/bin/python" ]; then
    PYTHON="$ROOT/.venv/bin/python"
  else
    PYTHON=python
  fi
fi
