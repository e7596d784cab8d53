#!/bin/sh
# Installs gVisor (runsc and containerd-shim-runsc-v1) on a self-managed Kubernetes node and
# registers it as a containerd runtime handler, then labels the node ready for sandboxed pods.
#
# It runs in a privileged DaemonSet pod that mounts the node's root filesystem at HOST_ROOT. Every
# run re-asserts the same state, so it is safe on each pod start, reboot or upgrade.
#
# Usage: install-gvisor.sh [--once]
#   By default the script stays alive after success: a DaemonSet pod whose process exits is
#   restarted, which would re-run the installer forever. --once exits 0 after labelling instead.
#
# Environment:
#   HOST_ROOT           where the node's root filesystem is mounted (required; "/" on the node).
#   HANDLER             containerd runtime name, i.e. the RuntimeClass handler (default: runsc).
#   RUNSC_SHA512        pinned sha512 of runsc (required, 128 hex digits).
#   SHIM_SHA512         pinned sha512 of containerd-shim-runsc-v1 (required, 128 hex digits).
#   SOURCE_DIR          directory holding the downloaded runsc and containerd-shim-runsc-v1
#                       (required; the DaemonSet fetches them from a pinned gVisor release).
#   INSTALL_DIR         host directory for both binaries (default: /usr/local/bin); it must be on
#                       containerd's PATH so that containerd finds the shim.
#   CONTAINERD_FLAVOUR  auto | v2 | v3 | dropin | k3s (default: auto, see detect_flavour).
#   CONTAINERD_CONFIG   host path of containerd's main config (default: /etc/containerd/config.toml).
#   CONTAINERD_VERSION  containerd version on the host, e.g. 2.1.4; only consulted when auto
#                       detection finds no main config. Default: asked from the host's containerd.
#   K3S_DATA_DIR        k3s data directory on the host (default: /var/lib/rancher/k3s).
#   NODE_NAME           this node's name (required unless LABEL_CMD is set).
#   READY_LABEL         label set once the handler works (default: kubesandbox.io/gvisor-ready=true).
#   RESTART_CMD         shell command restarting containerd; run only when its config changed.
#                       Default: chroot "$HOST_ROOT" systemctl restart containerd (k3s: k3s or
#                       k3s-agent, whichever unit the node has).
#   LABEL_CMD           shell command applying READY_LABEL; run after every successful run.
#                       Default: kubectl label node --overwrite "$NODE_NAME" "$READY_LABEL".
# RESTART_CMD and LABEL_CMD run under sh -c with HOST_ROOT, NODE_NAME and READY_LABEL exported.

set -eu

PROG=install-gvisor
BEGIN_MARK='# BEGIN kubesandbox gVisor runtime (managed by install-gvisor.sh; edits are overwritten)'
END_MARK='# END kubesandbox gVisor runtime'
RUNSC_TYPE='io.containerd.runsc.v1'

log() { printf '%s: %s\n' "$PROG" "$*"; }
die() {
	printf '%s: error: %s\n' "$PROG" "$*" >&2
	exit 1
}

ONCE=0
for arg in "$@"; do
	case $arg in
	--once) ONCE=1 ;;
	*) die "unknown argument '$arg'; the only option is --once" ;;
	esac
done

: "${HOST_ROOT:?HOST_ROOT must name the mount point of the node root filesystem}"
HANDLER=${HANDLER:-runsc}
INSTALL_DIR=${INSTALL_DIR:-/usr/local/bin}
CONTAINERD_FLAVOUR=${CONTAINERD_FLAVOUR:-auto}
CONTAINERD_CONFIG=${CONTAINERD_CONFIG:-/etc/containerd/config.toml}
K3S_DATA_DIR=${K3S_DATA_DIR:-/var/lib/rancher/k3s}
READY_LABEL=${READY_LABEL:-kubesandbox.io/gvisor-ready=true}
NODE_NAME=${NODE_NAME:-}
export HOST_ROOT NODE_NAME READY_LABEL

# Paths below are host paths; ROOT prefixes them so that HOST_ROOT=/ works as well.
ROOT=${HOST_ROOT%/}

check_sha512_format() {
	if ! printf '%s\n' "$2" | grep -Eq '^[0-9a-fA-F]{128}$'; then
		die "$1 must be 128 hex digits (a sha512), got '$2'"
	fi
}

validate_inputs() {
	[ -d "$HOST_ROOT" ] || die "HOST_ROOT '$HOST_ROOT' is not a directory; mount the node root there"
	# The handler becomes a TOML bare key and a RuntimeClass handler, which must be a DNS label.
	if ! printf '%s\n' "$HANDLER" | grep -Eq '^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$'; then
		die "HANDLER '$HANDLER' is not a DNS label; use lowercase letters, digits and '-'"
	fi
	[ "$HANDLER" != runc ] || die "HANDLER must not be 'runc', which names containerd's default runtime"
	check_sha512_format RUNSC_SHA512 "${RUNSC_SHA512:-}"
	check_sha512_format SHIM_SHA512 "${SHIM_SHA512:-}"
	[ -n "${SOURCE_DIR:-}" ] || die "SOURCE_DIR must name the directory holding the downloaded binaries"
	case $INSTALL_DIR in
	/*) ;;
	*) die "INSTALL_DIR '$INSTALL_DIR' must be an absolute path on the host" ;;
	esac
	case $CONTAINERD_FLAVOUR in
	auto | v2 | v3 | dropin | k3s) ;;
	*) die "CONTAINERD_FLAVOUR '$CONTAINERD_FLAVOUR' is not one of auto, v2, v3, dropin, k3s" ;;
	esac
	case $READY_LABEL in
	?*=*) ;;
	*) die "READY_LABEL '$READY_LABEL' must look like key=value" ;;
	esac
	if [ -z "${LABEL_CMD:-}" ] && [ -z "$NODE_NAME" ]; then
		die "NODE_NAME is empty; set it from the downward API (spec.nodeName) or set LABEL_CMD"
	fi
}

sha512_of() {
	sha512sum <"$1" | cut -d ' ' -f 1
}

verify_source() {
	name=$1
	expected=$(printf '%s' "$2" | tr 'A-F' 'a-f')
	[ -f "$SOURCE_DIR/$name" ] || die "$SOURCE_DIR/$name is missing; download it before running"
	actual=$(sha512_of "$SOURCE_DIR/$name")
	if [ "$actual" != "$expected" ]; then
		die "sha512 mismatch for $SOURCE_DIR/$name: expected $expected, got $actual; re-download or fix the pin"
	fi
}

# Top-level "version = N" of a containerd config, or nothing when absent (= version 1).
config_version() {
	awk '/^[[:space:]]*\[/ { exit }
		/^[[:space:]]*version[[:space:]]*=/ {
			sub(/^[^=]*=[[:space:]]*/, ""); sub(/[^0-9].*$/, ""); print; exit
		}' "$1"
}

# True when the top-level imports list of config $1 contains the conf.d glob.
imports_conf_d() {
	awk '/^[[:space:]]*\[/ { exit }
		/^[[:space:]]*imports[[:space:]]*=/ { inlist = 1 }
		inlist { text = text $0; if ($0 ~ /\]/) inlist = 0 }
		END { exit !(text ~ /["\047]\/etc\/containerd\/conf\.d\/\*\.toml["\047]/) }' "$1"
}

# Prints the lines of $1 that are outside the managed block, so checks ignore our own tables.
unmanaged_lines() {
	[ -f "$1" ] || return 0
	awk -v begin="$BEGIN_MARK" -v end="$END_MARK" '
		$0 == begin { inblock = 1; next }
		$0 == end { inblock = 0; next }
		!inblock' "$1"
}

# "major.minor" of the host's containerd, from CONTAINERD_VERSION or the binary itself.
host_containerd_version() {
	raw=${CONTAINERD_VERSION:-}
	if [ -z "$raw" ]; then
		raw=$(chroot "$HOST_ROOT" containerd --version 2>/dev/null | awk '{ print $3 }') || raw=
	fi
	printf '%s\n' "${raw#v}" | sed -n 's/^\([0-9][0-9]*\)\.\([0-9][0-9]*\).*/\1.\2/p'
}

cri_plugin_of() {
	if [ "$1" -ge 3 ]; then
		echo io.containerd.cri.v1.runtime
	else
		echo io.containerd.grpc.v1.cri
	fi
}

# True when config $1 sets the CRI runtime plugin section for syntax $2 (2 or 3) itself. An
# imported file replaces a main-config plugin section as a whole (measured with containerd 1.6),
# so a drop-in would silently drop those settings; the managed block then goes into the main file.
sets_cri_section() {
	plugin=$(cri_plugin_of "$2" | sed 's/\./\\./g')
	unmanaged_lines "$1" | grep -Eq "^[[:space:]]*\[+[[:space:]]*plugins\.[\"']${plugin}[\"']"
}

# Chooses how to register the handler and sets FLAVOUR, TARGET (host path of the file to manage),
# SYNTAX (2 or 3: which CRI plugin path) and NEW_FILE_HEADER (first lines of a file we create).
#
# auto, in order, first match wins:
#   1. the k3s agent containerd directory exists        -> k3s template
#   2. the main config exists:
#      imports /etc/containerd/conf.d/*.toml and does not set the CRI section itself -> dropin
#      "version = 3" or higher                         -> v3
#      "version = 2"                                   -> v2
#      no version header (version 1)                   -> error: containerd 2.x dropped it
#   3. no main config: the host containerd's version
#      >= 2.2 (its built-in default imports conf.d)    -> dropin
#      2.0 or 2.1                                      -> v3
#      1.x                                             -> v2
#      unknown                                         -> error
detect_flavour() {
	config=$ROOT$CONTAINERD_CONFIG
	k3s_dir=$ROOT$K3S_DATA_DIR/agent/etc/containerd
	FLAVOUR=$CONTAINERD_FLAVOUR
	version=
	[ -f "$config" ] && version=$(config_version "$config")

	if [ "$FLAVOUR" = auto ]; then
		if [ -d "$k3s_dir" ]; then
			FLAVOUR=k3s
		elif [ -f "$config" ]; then
			[ -n "$version" ] ||
				die "$CONTAINERD_CONFIG has no 'version = 2' or 'version = 3' header; migrate it (containerd config migrate) or set CONTAINERD_FLAVOUR"
			if imports_conf_d "$config" && ! sets_cri_section "$config" "$version"; then
				FLAVOUR=dropin
			elif [ "$version" -ge 3 ]; then
				FLAVOUR=v3
			else
				FLAVOUR=v2
			fi
		else
			host_version=$(host_containerd_version)
			major=${host_version%.*}
			minor=${host_version#*.}
			if [ -z "$host_version" ]; then
				die "no $CONTAINERD_CONFIG and the host containerd version is unknown; set CONTAINERD_VERSION or CONTAINERD_FLAVOUR"
			elif [ "$major" -gt 2 ] || { [ "$major" -eq 2 ] && [ "$minor" -ge 2 ]; }; then
				FLAVOUR=dropin
			elif [ "$major" -eq 2 ]; then
				FLAVOUR=v3
			else
				FLAVOUR=v2
			fi
		fi
	fi

	case $FLAVOUR in
	v2 | v3)
		SYNTAX=${FLAVOUR#v}
		TARGET=$CONTAINERD_CONFIG
		NEW_FILE_HEADER="version = $SYNTAX"
		# The header decides how containerd reads the whole file, so the block must follow it.
		if [ -f "$config" ]; then
			file_syntax=$(if [ "${version:-1}" -ge 3 ]; then echo 3; else echo "${version:-1}"; fi)
			[ "$file_syntax" = "$SYNTAX" ] ||
				die "$CONTAINERD_CONFIG is version ${version:-1} but CONTAINERD_FLAVOUR is $FLAVOUR; use the flavour matching its 'version =' header"
		fi
		;;
	dropin)
		# A drop-in may not carry a higher version than the main config, and containerd before
		# 2.2 only reads conf.d when the main config imports it.
		SYNTAX=3
		if [ -f "$config" ]; then
			imports_conf_d "$config" ||
				die "$CONTAINERD_CONFIG does not import /etc/containerd/conf.d/*.toml; add it to 'imports' or use CONTAINERD_FLAVOUR=v2/v3"
			[ -n "$version" ] || die "$CONTAINERD_CONFIG has no version header; drop-ins need version 2 or higher"
			[ "$version" -ge 3 ] || SYNTAX=2
			! sets_cri_section "$config" "$SYNTAX" ||
				die "$CONTAINERD_CONFIG sets the $(cri_plugin_of "$SYNTAX") section, which a drop-in would replace whole; use CONTAINERD_FLAVOUR=v$SYNTAX"
		fi
		TARGET=/etc/containerd/conf.d/kubesandbox-gvisor.toml
		NEW_FILE_HEADER="version = $SYNTAX"
		;;
	k3s)
		# k3s regenerates config.toml at every start, so the handler goes into its template.
		# config-v3.toml.tmpl wins over config.toml.tmpl; an existing template keeps its syntax.
		k3s_host_dir=$K3S_DATA_DIR/agent/etc/containerd
		if [ -f "$k3s_dir/config-v3.toml.tmpl" ]; then
			SYNTAX=3
		elif [ -f "$k3s_dir/config.toml.tmpl" ]; then
			SYNTAX=2
		elif [ -f "$k3s_dir/config.toml" ]; then
			k3s_version=$(config_version "$k3s_dir/config.toml")
			if [ "${k3s_version:-0}" -ge 3 ]; then SYNTAX=3; else SYNTAX=2; fi
		else
			die "$k3s_host_dir/config.toml not found; start k3s once so it renders its containerd config"
		fi
		if [ "$SYNTAX" = 3 ]; then
			TARGET=$k3s_host_dir/config-v3.toml.tmpl
		else
			TARGET=$k3s_host_dir/config.toml.tmpl
		fi
		NEW_FILE_HEADER='{{ template "base" . }}'
		;;
	esac
}

# Writes the managed block for $HANDLER to $1. Outside k3s, runc is declared too unless the
# config already does: a runtimes table in a config replaces containerd's built-in runtime list
# (measured with containerd 1.6: the CRI plugin then fails with no runtime for "runc").
render_block() {
	plugin=$(cri_plugin_of "$SYNTAX")
	declare_runc=1
	[ "$FLAVOUR" != k3s ] || declare_runc=0
	if [ "$FLAVOUR" != dropin ] &&
		unmanaged_lines "$ROOT$TARGET" | grep -Eq "containerd\.runtimes\.[\"']?runc[\"']?[].]"; then
		declare_runc=0
	fi
	{
		printf '%s\n' "$BEGIN_MARK"
		if [ "$declare_runc" = 1 ]; then
			printf '# runc is declared here because listing any runtime replaces the built-in list.\n'
			printf '[plugins."%s".containerd.runtimes.runc]\n' "$plugin"
			printf '  runtime_type = "io.containerd.runc.v2"\n\n'
		fi
		printf '[plugins."%s".containerd.runtimes.%s]\n' "$plugin" "$HANDLER"
		printf '  runtime_type = "%s"\n' "$RUNSC_TYPE"
		printf '%s\n' "$END_MARK"
	} >"$1"
}

# Writes to $3 the content of file $1 (may be absent) with the managed block from $2 in place:
# replaced where it already is, otherwise appended after a blank line.
merge_block() {
	if [ -f "$1" ]; then
		current=$1
	else
		current=$WORK/empty
		printf '%s\n' "$NEW_FILE_HEADER" >"$current"
	fi
	awk -v begin="$BEGIN_MARK" -v end="$END_MARK" -v blockfile="$2" '
		function emit(  line) {
			while ((getline line < blockfile) > 0) print line
			close(blockfile)
			written = 1
		}
		$0 == begin { if (written || inblock) { status = 3; exit } inblock = 1; next }
		$0 == end && inblock { inblock = 0; emit(); next }
		inblock { next }
		{ print; last = $0; lines++ }
		END {
			if (status) exit status
			if (inblock) exit 4
			if (!written) { if (lines && last != "") print ""; emit() }
		}' "$current" >"$3" || die "$TARGET has a damaged or repeated kubesandbox block; delete the lines between the BEGIN and END markers and re-run"
}

# Refuses configs whose own tables would clash with the managed block (TOML forbids a table
# being defined twice, and containerd would then not start at all).
check_conflicts() {
	escaped=$(printf '%s' "$HANDLER" | sed 's/[.-]/\\&/g')
	if unmanaged_lines "$ROOT$TARGET" | grep -Eq "containerd\.runtimes\.[\"']?${escaped}[\"']?[[:space:]]*\]"; then
		die "$TARGET already defines runtime '$HANDLER' outside the kubesandbox block; remove that table or choose another HANDLER"
	fi
	if [ "$FLAVOUR" != k3s ] && [ -f "$ROOT$CONTAINERD_CONFIG" ] &&
		grep -Eq "^[[:space:]]*disabled_plugins[[:space:]]*=.*[\"'](cri|io\.containerd\.grpc\.v1\.cri)[\"']" "$ROOT$CONTAINERD_CONFIG"; then
		die "$CONTAINERD_CONFIG disables the CRI plugin, so Kubernetes cannot use any handler; remove cri from disabled_plugins"
	fi
}

# Replaces $2 (host path) with $1 when their contents differ, via a rename in the same directory
# so that a running shim or containerd never sees a half-written file. Returns 0 if it changed.
replace_if_different() {
	src=$1
	dst=$ROOT$2
	mode=$3
	if [ -f "$dst" ] && cmp -s "$src" "$dst"; then
		return 1
	fi
	mkdir -p "$(dirname "$dst")"
	tmp=$dst.kubesandbox-new
	if [ -f "$dst" ]; then
		# Keeps the owner and mode of a config someone else created.
		cp -p "$dst" "$tmp"
		cat "$src" >"$tmp"
	else
		cat "$src" >"$tmp"
		chmod "$mode" "$tmp"
	fi
	mv -f "$tmp" "$dst"
	log "updated $2"
	return 0
}

install_binary() {
	bin_path=$INSTALL_DIR/$1
	if replace_if_different "$SOURCE_DIR/$1" "$bin_path" 0755; then
		chmod 0755 "$ROOT$bin_path"
	elif [ -z "$(find "$ROOT$bin_path" -prune -perm -0555)" ]; then
		# runsc re-executes itself as an unprivileged user, so it must be world-executable.
		chmod a+rx "$ROOT$bin_path"
		log "made $bin_path world-readable and executable"
	fi
}

default_restart_cmd() {
	if [ "$FLAVOUR" != k3s ]; then
		unit=containerd
	elif [ -f "$ROOT/etc/systemd/system/k3s-agent.service" ]; then
		unit=k3s-agent
	else
		unit=k3s
	fi
	# The command is run by sh -c, which expands HOST_ROOT from the exported environment.
	# shellcheck disable=SC2016
	printf '%s' 'chroot "${HOST_ROOT:-/}" systemctl restart '"$unit"
}

stay_alive() {
	log "ready; staying alive so the DaemonSet does not re-run the installer (use --once to exit)"
	sleeper=
	trap '[ -z "$sleeper" ] || kill "$sleeper" 2>/dev/null; exit 0' TERM INT
	while :; do
		sleep 3600 &
		sleeper=$!
		wait "$sleeper" || true
	done
}

main() {
	validate_inputs
	verify_source runsc "$RUNSC_SHA512"
	verify_source containerd-shim-runsc-v1 "$SHIM_SHA512"

	WORK=$(mktemp -d)
	trap 'rm -rf "$WORK"' EXIT

	# Everything that can fail on the node's config is decided before the first write.
	detect_flavour
	check_conflicts
	render_block "$WORK/block"
	merge_block "$ROOT$TARGET" "$WORK/block" "$WORK/config"
	log "handler $HANDLER: flavour $FLAVOUR, config $TARGET"

	install_binary runsc
	install_binary containerd-shim-runsc-v1

	if replace_if_different "$WORK/config" "$TARGET" 0644; then
		restart_cmd=${RESTART_CMD:-$(default_restart_cmd)}
		log "config changed; restarting: $restart_cmd"
		sh -c "$restart_cmd" || die "restart command failed: $restart_cmd; the node stays unlabelled"
	else
		log "config already up to date; not restarting containerd"
	fi

	# shellcheck disable=SC2016 # NODE_NAME and READY_LABEL are expanded by the sh -c below.
	label_cmd=${LABEL_CMD:-'kubectl label node --overwrite "$NODE_NAME" "$READY_LABEL"'}
	sh -c "$label_cmd" || die "label command failed: $label_cmd"
	log "labelled node ${NODE_NAME:-?} $READY_LABEL"

	rm -rf "$WORK"
	[ "$ONCE" = 1 ] || stay_alive
}

main
