#!/usr/bin/env bash
# package-test.sh — build the release packages as goreleaser.yaml says (a snapshot, for this
# machine's linux architecture only) and check what an operator gets from the .deb, installed
# into a throwaway root with dpkg --root (Debian's barman-cli-cloud, which owns the same
# /usr/bin paths on the machine, is not touched):
#   every command of tools/all runs through its symlink and prints the snapshot version;
#   --help works; man finds and renders each page; the bash, zsh and fish completions load
#   from the packaged paths and complete; the package replaces barman-cli-cloud; every file
#   has the commit's mtime; removing the package leaves nothing behind.
# It also checks the .rpm's file list and the tar.gz archive.
#
#   scripts/package-test.sh        # needs Go; installs goreleaser (pinned) and the shells
#
# goreleaser v2.15.0 is installed with `go install` into $PACKAGE_TEST_BIN
# (default ~/.cache/barman-packaging/bin) on first use: about 6-10 minutes on 2 cores.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PATH:/usr/local/go/bin"
GORELEASER_MOD=github.com/goreleaser/goreleaser/v2
GORELEASER_VER=v2.15.0 # newer ones need a newer Go or a module the proxy refuses
BIN="${PACKAGE_TEST_BIN:-$HOME/.cache/barman-packaging/bin}"
log() { echo "package-test: $*" >&2; }
fail() {
  echo "package-test: FAIL: $*" >&2
  exit 1
}
t0=$SECONDS

# ---- tools ----
if ! go version -m "$BIN/goreleaser" 2>/dev/null | grep -q "mod[[:space:]]*$GORELEASER_MOD[[:space:]]*$GORELEASER_VER"; then
  log "installing $GORELEASER_MOD@$GORELEASER_VER into $BIN (cold: 6-10 min on 2 cores)"
  mkdir -p "$BIN"
  GOBIN="$BIN" GOFLAGS=-buildvcs=false go install "$GORELEASER_MOD@$GORELEASER_VER" >&2
  log "installed in $((SECONDS - t0)) s"
fi
goreleaser="$BIN/goreleaser"
pkgs=(dpkg man-db bash-completion zsh fish rpm)
missing=()
for p in "${pkgs[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
if ((${#missing[@]})); then
  log "apt-get install ${missing[*]}"
  apt-get update >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}" >&2
fi

work="$(mktemp -d /tmp/package-test.XXXXXX)"
trap 'rm -rf "$work" man/*.1.gz' EXIT

# ---- build ----
"$goreleaser" check >&2
# A copy of goreleaser.yaml narrowed to this machine's architecture, with its own dist.
arch="$(go env GOARCH)"
sed -e "s/^    goos: \[linux, darwin\]\$/    goos: [linux]/" \
  -e "s/^    goarch: \[amd64, arm64\]\$/    goarch: [$arch]/" goreleaser.yaml >"$work/goreleaser.yaml"
grep -qx "    goos: \[linux\]" "$work/goreleaser.yaml" && grep -qx "    goarch: \[$arch\]" "$work/goreleaser.yaml" ||
  fail "goreleaser.yaml's goos/goarch lines changed: update the narrowing in $0"
echo "dist: $work/dist" >>"$work/goreleaser.yaml"
# goreleaser reads the commit (version, dates for reproducible mtimes) only when the
# clone has a remote; a worktree or local clone may have none: give goreleaser's git
# one through the environment, without touching the repository's configuration.
if [[ -z $(git remote) ]]; then
  export GIT_CONFIG_COUNT=1 GIT_CONFIG_KEY_0=remote.origin.url GIT_CONFIG_VALUE_0=https://github.com/barmancloud/barman-cloud.git
fi
t1=$SECONDS
log "goreleaser release --snapshot (linux/$arch)"
"$goreleaser" release --snapshot --clean --parallelism 2 --config "$work/goreleaser.yaml" >"$work/goreleaser.log" 2>&1 ||
  { cat "$work/goreleaser.log" >&2; fail "goreleaser release --snapshot"; }
log "built in $((SECONDS - t1)) s"
dist="$work/dist"
version="$(sed -n 's/.*"version":"\([^"]*\)".*/\1/p' "$dist/metadata.json")"
[[ -n $version ]] || fail "no version in $dist/metadata.json"
deb="$(ls "$dist"/*_"$arch".deb)"
rpm="$(ls "$dist"/*.rpm)"
tgz="$(ls "$dist"/*_linux_"$arch".tar.gz)"
log "version $version: $(basename "$deb") $(basename "$rpm") $(basename "$tgz")"

mapfile -t progs < <(go run ./cmd/gendocs -list) # barman-cloud, then every tool
((${#progs[@]} > 1)) || fail "gendocs -list printed no tool"
tools=("${progs[@]:1}")

# ---- package metadata ----
(cd "$dist" && sha256sum ./*.deb ./*.rpm ./*.tar.gz) # the same commit builds the same files
echo "== dpkg -c $(basename "$deb")"
dpkg -c "$deb"
dpkg-deb -f "$deb" Package Version Conflicts Replaces Provides >"$work/fields"
cat "$work/fields"
for f in Conflicts Replaces Provides; do
  grep -qx "$f: barman-cli-cloud" "$work/fields" || fail "$f is not barman-cli-cloud"
done
# Reproducible: every entry has the commit's time.
commit_time="$(date -u -d "@$(git log -1 --format=%ct)" '+%Y-%m-%d %H:%M:%S')"
bad="$(dpkg-deb --fsys-tarfile "$deb" | tar -tv --full-time --utc | grep -v " $commit_time " || true)"
[[ -z $bad ]] || fail "entries without the commit time ($commit_time):"$'\n'"$bad"

# ---- install into a throwaway root ----
root="$work/root"
mkdir -p "$root/var/lib/dpkg/info" "$root/var/lib/dpkg/updates"
touch "$root/var/lib/dpkg/status"
dpkg --root="$root" --force-script-chrootless --force-not-root -i "$deb" >&2
PATH="$root/usr/bin:$PATH"

for p in "${progs[@]}"; do
  [[ $(command -v "$p") == "$root/usr/bin/$p" ]] || fail "$p is not installed in /usr/bin"
  if [[ $p != barman-cloud ]]; then
    [[ $(readlink "$root/usr/bin/$p") == barman-cloud ]] || fail "/usr/bin/$p is not a symlink to barman-cloud"
  fi
  out="$("$p" -V)"
  [[ $out == "$p $version" ]] || fail "$p -V printed '$out', want '$p $version'"
  "$p" --help >"$work/help" || fail "$p --help exited $?"
  grep -q "^usage: " "$work/help" || fail "$p --help printed no usage line"
  page="$(man -M "$root/usr/share/man" -w "$p")"
  [[ $page == "$root/usr/share/man/man1/$p.1.gz" ]] || fail "man -w $p found '$page'"
  warn="$(LC_ALL=C.UTF-8 MANWIDTH=80 man --warnings -M "$root/usr/share/man" "$p" 2>&1 >"$work/page")" || fail "man $p"
  [[ -z $warn ]] || fail "man $p warns: $warn"
  grep -q "^NAME" "$work/page" || fail "man $p rendered no NAME"
  echo "ok: $p -V = $version; --help; man -w = ${page#"$root"}"
done

# bash: the file bash-completion loads for each command, sourced directly, and through
# bash-completion's own loader (XDG_DATA_DIRS points it at the root's /usr/share).
# The multi-call binary completes a tool's options after the tool's name.
cloud_provider_line() {
  if [[ $1 == barman-cloud ]]; then
    echo "barman-cloud ${tools[0]#barman-cloud-} --cloud-provider "
  else
    echo "$1 --cloud-provider "
  fi
}
for p in "${progs[@]}"; do
  out="$(bash --norc --noprofile -c "source '$root/usr/share/bash-completion/completions/$p' && complete -p '$p'")"
  [[ $out == "complete -o default -F _barman_cloud $p" ]] || fail "bash: complete -p $p printed '$out'"
  out="$(XDG_DATA_DIRS="$root/usr/share" bash --norc --noprofile -c "
    source /usr/share/bash-completion/bash_completion
    __load_completion '$p' && complete -p '$p'
    COMP_LINE='$(cloud_provider_line "$p")a'; COMP_POINT=\${#COMP_LINE}; _barman_cloud; echo \"\${COMPREPLY[*]}\"")"
  [[ $out == "complete -o default -F _barman_cloud $p"$'\n'"aws-s3 azure-blob-storage" ]] ||
    fail "bash-completion's loader for $p: '$out'"
done
echo "ok: bash completion loads for ${progs[*]}"

# zsh: compinit finds the function in the package's directory, and Tab completes
# (a zsh under zpty, with compadd reporting what it is given).
cat >"$work/zcomplete.zsh" <<'EOF'
# zcomplete.zsh FPATH_DIR NAME LINE: prints $_comps[NAME], then the candidates of Tab after LINE.
# Markers are built from variables so that the terminal's echo of the typed lines never has them.
zmodload zsh/zpty
zpty z zsh -f -i
zpty -w z "PROMPT=; M='=='; E='@@'; fpath=($1 \$fpath); autoload -U compinit; compinit -u -D"
zpty -w z 'compadd() { local -a __m; builtin compadd -O __m "$@"; (( $#__m )) && print -r -- "${M}>${(j: :)__m}"; builtin compadd "$@"; }'
zpty -w z 'comppostfuncs=(__done); __done() { print -r -- "${E}END${E}"; }'
zpty -w z "print -r -- \"\${M}>\$_comps[$2]\""
zpty -w -n z "$3"$'\t'
while zpty -r z line; do
  [[ $line == *==\>* ]] && print -r -- "${${line##*==>}%%$'\r'*}"
  [[ $line == *@@END@@* ]] && break
done
zpty -d z
EOF
zshdir="$root/usr/share/zsh/vendor-completions"
for p in "${progs[@]}"; do
  out="$(timeout 60 zsh -f "$work/zcomplete.zsh" "$zshdir" "$p" "$(cloud_provider_line "$p")")"
  [[ $out == "_barman-cloud"$'\n'"aws-s3 azure-blob-storage google-cloud-storage" ]] || fail "zsh completion of $p: '$out'"
done
out="$(timeout 60 zsh -f "$work/zcomplete.zsh" "$zshdir" barman-cloud "barman-cloud " | tail -n +2 | tr ' ' '\n' | sort -u)"
[[ $out == "$(printf '%s\n' "${tools[@]#barman-cloud-}" | sort -u)" ]] || fail "zsh completion of barman-cloud's tools: '$out'"
echo "ok: zsh completion for ${progs[*]}"

# fish: autoloads PROG.fish from the package's vendor_completions.d.
for p in "${progs[@]}"; do
  line="$(cloud_provider_line "$p")"
  out="$(fish -N -c "set -p fish_complete_path '$root/usr/share/fish/vendor_completions.d'; complete -C '$line'" | cut -f1 | tr '\n' ' ')"
  [[ $out == "aws-s3 azure-blob-storage google-cloud-storage " ]] || fail "fish completion of '$line': '$out'"
done
echo "ok: fish completion for ${progs[*]}"

# ---- remove ----
dpkg --root="$root" --force-script-chrootless --force-not-root -r barman-cloud >&2
left="$(find "$root" -path "$root/var/lib/dpkg" -prune -o -type f -print -o -type l -print)"
[[ -z $left ]] || fail "files left after dpkg -r:"$'\n'"$left"
echo "ok: dpkg -r removes everything"

# ---- rpm and archive ----
rpm -qlp "$rpm" 2>/dev/null | sort >"$work/rpm.list"
dpkg-deb -c "$deb" | awk '$1 !~ /^d/ {print $6}' | sed 's,^\.,,' | sort >"$work/deb.list"
diff <(grep -v -e /usr/share/doc/ -e /usr/share/licenses/ -e /zsh/ "$work/deb.list") \
  <(grep -v -e /usr/share/doc/ -e /usr/share/licenses/ -e /zsh/ "$work/rpm.list") ||
  fail "the .rpm and the .deb install different files"
grep -qx /usr/share/zsh/site-functions/_barman-cloud "$work/rpm.list" || fail "the .rpm has no zsh site-functions"
echo "ok: the .rpm installs the same files (zsh under site-functions)"
tar -tzf "$tgz" | sed 's,^[^/]*/,,' | sort >"$work/tgz.list"
for f in README.md LICENSE barman-cloud completions/barman-cloud.bash completions/_barman-cloud; do
  grep -qx "$f" "$work/tgz.list" || fail "the archive has no $f"
done
for p in "${progs[@]}"; do
  grep -qx "man/$p.1" "$work/tgz.list" && grep -qx "completions/$p.fish" "$work/tgz.list" || fail "the archive lacks $p's man page or fish completion"
done
echo "ok: $(basename "$tgz") has the binary, README.md, LICENSE, man pages and completions"
log "all package checks passed in $((SECONDS - t0)) s"
