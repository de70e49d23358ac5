# python_direct.sh - sourced by run-integration.sh and lib.sh; never run.
#
# python_direct DIR: when "python3" on PATH is a shell shim (pyenv's:
# bash, then pyenv, its hooks and readlink, about 0.5 s of CPU a call),
# DIR gets a python3 link to the interpreter the shim picks and goes
# first on PATH. The tests call python3 thousands of times (fake CAs,
# JSON checks, free ports); with the shim that was a quarter of the
# suite's CPU. The interpreter is the same one either way.
python_direct() {
	local p
	p=$(command -v python3) || return 0
	[ "$(head -c 2 "$p")" = "#!" ] || return 0
	p=$(python3 -c 'import sys; print(sys.executable)') || return 0
	[ -x "$p" ] || return 0
	mkdir -p "$1"
	ln -sf "$p" "$1/python3"
	PATH=$1:$PATH
	export PATH
}
