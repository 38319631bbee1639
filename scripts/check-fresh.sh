#!/usr/bin/env bash
# Checks that the README's commands work on a fresh Debian 12 machine, for real: builds a minimal
# Debian 12 root (debootstrap --variant=minbase from deb.debian.org, plus what a new user has:
# git, ca-certificates, sudo), puts a clean `git clone` of HEAD in it, and runs there, as a new
# user would after `git clone && cd kaldiq`:
#   scripts/demo.sh, scripts/test.sh          (always)
#   scripts/test.sh --sanitize                (with --sanitize; CI's second command)
# Each command must install what it needs itself (scripts/install-deps.sh runs apt-get in the
# root). Prints PASS/FAIL and the elapsed time per command, exits non-zero if any failed, keeps the
# logs (each line stamped with the seconds since the command started) in out/check-fresh/<time>/.
#
#   sudo scripts/check-fresh.sh [options]
#     --as=root|user   run as root (default, as CI does) or as user `dev` with password-less sudo
#                      (install-deps.sh then goes through sudo)
#     --sanitize       also run `scripts/test.sh --sanitize`
#     --cmd=COMMAND    run COMMAND (in the clone) instead of the README commands; repeatable, e.g.
#                      --as=user --cmd=scripts/install-deps.sh checks the sudo path alone
#     --shared[=DIR]   bind-mount DIR (default: ../shared of this checkout) read-only at ../shared
#                      of the clone, so the tests that need it run instead of skipping; a new user
#                      has no ../shared, so the default is without it
#     --keep           keep the root afterwards (it is always kept when a command failed)
#     --rebuild-base   debootstrap again instead of using the cached base tarball
#     --no-apt-cache   do not keep downloaded .debs between runs (apt-get install still runs in
#                      the fresh root every time; the cache only saves the downloads)
# Environment: KQ_FRESH_CACHE (base tarball + .deb cache, default /var/cache/kaldiq-check-fresh),
# KQ_FRESH_WORK (roots, default /var/tmp/kaldiq-check-fresh).
#
# Needs root (debootstrap, chroot, mount) and the debootstrap package. Everything runs in a private
# mount namespace, so the root's mounts (/proc, /sys, /dev, the .deb cache, ../shared) never show
# on the host and vanish with the script, even when it is killed; a trap also unmounts them.
# Slow: the commands build kaldiq from scratch (twice with --sanitize) on the machine's cores.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)

as=root sanitize=0 shared="" keep=0 rebuild_base=0 apt_cache=1 cmds=()
for a in "$@"; do
  case $a in
    --as=root|--as=user) as=${a#--as=} ;;
    --sanitize) sanitize=1 ;;
    --cmd=*) cmds+=("${a#--cmd=}") ;;
    --shared) shared=$root/../shared ;;
    --shared=*) shared=${a#--shared=} ;;
    --keep) keep=1 ;;
    --rebuild-base) rebuild_base=1 ;;
    --no-apt-cache) apt_cache=0 ;;
    -h|--help) sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "$0"; exit 0 ;;
    *) echo "check-fresh: unknown option '$a' (see --help)" >&2; exit 2 ;;
  esac
done
[ "$(id -u)" -eq 0 ] || { echo "check-fresh: needs root (debootstrap, chroot, mount): sudo $0 $*" >&2; exit 2; }
command -v debootstrap >/dev/null ||
  { echo "check-fresh: needs debootstrap: apt-get install --no-install-recommends debootstrap" >&2; exit 2; }
if [ -n "$shared" ]; then
  [ -d "$shared" ] || { echo "check-fresh: --shared: no directory $shared" >&2; exit 2; }
  shared=$(cd "$shared" && pwd)
fi

# Everything below runs in a private mount namespace (see the header).
if [ -z "${KQ_FRESH_IN_NS:-}" ]; then
  KQ_FRESH_IN_NS=1 exec unshare --mount --propagation private -- "$0" "$@"
fi

suite=bookworm
mirror=http://deb.debian.org/debian
base_pkgs=git,ca-certificates,sudo   # what a new user has besides minbase; decide here, nowhere else
cache=${KQ_FRESH_CACHE:-/var/cache/kaldiq-check-fresh}
work=${KQ_FRESH_WORK:-/var/tmp/kaldiq-check-fresh}
stamp=$(date +%Y%m%d-%H%M%S)
logs=$root/out/check-fresh/$stamp
run=$work/run-$stamp
R=$run/root
mkdir -p "$cache" "$work" "$logs"

t_start=$SECONDS
summary=$logs/summary.txt
fmt() { printf '%dm%02ds' $(($1 / 60)) $(($1 % 60)); }
say() { echo "check-fresh: $*" | tee -a "$summary" >&2; }
# stamped: prefixes each line with the seconds since the command started (phases read off the log).
stamped() { local t0=$SECONDS l; while IFS= read -r l; do printf '[%5d] %s\n' $((SECONDS - t0)) "$l"; done; }

mounts=()
cleanup() {
  local rc=$? i
  for ((i = ${#mounts[@]} - 1; i >= 0; i--)); do
    umount -R "${mounts[i]}" 2>/dev/null || umount -R -l "${mounts[i]}" 2>/dev/null || true
  done
  mounts=()
  if [ -d "$R" ]; then
    if grep -q " $R/" /proc/self/mounts; then
      say "still mounted under $R: not removing it"
    elif [ "$rc" -eq 0 ] && [ "$keep" -eq 0 ]; then
      rm -rf --one-file-system "$run"
    else
      say "root kept: $R"
    fi
  fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
bind() { mount "$@"; mounts+=("${!#}"); }   # mount ... TARGET, remembered for cleanup

# 1. Base system: debootstrap once, then reuse the tarball.
key=$(printf '%s\n' "$suite" minbase "$base_pkgs" "$mirror" v1 | sha1sum | cut -c1-12)
tarball=$cache/debian12-minbase-$key.tar.gz
t0=$SECONDS
if [ ! -f "$tarball" ] || [ "$rebuild_base" -eq 1 ]; then
  say "base: debootstrap --variant=minbase --include=$base_pkgs $suite (log: $logs/base.log)"
  b=$work/base-$stamp
  rm -rf --one-file-system "$b"
  if ! debootstrap --variant=minbase --include="$base_pkgs" "$suite" "$b" "$mirror" >"$logs/base.log" 2>&1; then
    tail -n 20 "$logs/base.log" >&2
    say "FAIL base system (debootstrap)"
    exit 1
  fi
  # The sources a Debian 12 installation has; the lists are dropped so nothing relies on them.
  cat >"$b/etc/apt/sources.list" <<EOF
deb $mirror $suite main
deb $mirror $suite-updates main
deb http://deb.debian.org/debian-security $suite-security main
EOF
  chroot "$b" apt-get clean
  rm -rf "$b"/var/lib/apt/lists/* "$b"/var/cache/apt/*.bin
  tar -C "$b" --numeric-owner -czf "$tarball.tmp" . && mv "$tarball.tmp" "$tarball"
  rm -rf --one-file-system "$b"
  say "base: built $(basename "$tarball") in $(fmt $((SECONDS - t0)))"
else
  say "base: cached $tarball"
fi

# 2. A fresh root from the base, with /proc, /sys, /dev (+ /dev/shm, /dev/pts) and DNS.
t0=$SECONDS
mkdir -p "$R"
tar -C "$R" --numeric-owner -xzf "$tarball"
cp /etc/resolv.conf /etc/hosts /etc/hostname "$R/etc/"   # DNS; the machine's own name resolves (sudo)
bind -t proc proc "$R/proc"
bind -t sysfs -o ro sysfs "$R/sys"
bind --rbind /dev "$R/dev"
mount --make-rslave "$R/dev"
if [ "$apt_cache" -eq 1 ]; then
  mkdir -p "$cache/apt-archives"
  bind --bind "$cache/apt-archives" "$R/var/cache/apt/archives"
fi

if [ "$as" = user ]; then
  user=dev home=/home/dev
  chroot "$R" useradd --create-home --shell /bin/bash --groups sudo "$user"
  # A new user types a password for sudo; the check cannot, so the user's sudo needs none.
  echo "$user ALL=(ALL) NOPASSWD:ALL" >"$R/etc/sudoers.d/$user"
  chmod 0440 "$R/etc/sudoers.d/$user"
else
  user=root home=/root
fi

# 3. A clean clone of the committed HEAD (not the working tree).
sha=$(git -C "$root" rev-parse HEAD)
if [ -n "$(git -C "$root" status --porcelain --untracked-files=no)" ]; then
  say "warning: uncommitted changes in $root are not checked (clean clone of HEAD)"
fi
git clone -q --no-hardlinks "$root" "$R$home/kaldiq"
git -C "$R$home/kaldiq" checkout -q --detach "$sha"
chroot "$R" chown -R "$user:" "$home/kaldiq"
if [ -n "$shared" ]; then
  mkdir -p "$R$home/shared"
  bind --bind -o ro "$shared" "$R$home/shared"
fi
say "root: $R ($(fmt $((SECONDS - t0)))), as $user, clone of $(git -C "$root" log -1 --format='%h %s' "$sha" | cut -c1-70)"
say "      ../shared: ${shared:-absent (tests needing it skip)}; logs: $logs"

# 4. The README commands, in a login shell of the new user, each one after the other.
if [ ${#cmds[@]} -eq 0 ]; then
  cmds=("scripts/demo.sh" "scripts/test.sh")
  [ "$sanitize" -eq 1 ] && cmds+=("scripts/test.sh --sanitize")
fi
failed=0
for c in "${cmds[@]}"; do
  name=$(echo "${c#scripts/}" | tr -c 'a-z0-9\n' '-' | sed 's/--*/-/g; s/-$//' | cut -c1-40)
  log=$logs/$name.log
  t0=$SECONDS
  say "run: $c (log: $log)"
  set +e
  chroot "$R" /usr/sbin/runuser -l "$user" -c "cd ~/kaldiq && $c" </dev/null 2>&1 | stamped >"$log"
  rc=${PIPESTATUS[0]}
  set -e
  if [ "$rc" -eq 0 ]; then
    say "PASS $c ($(fmt $((SECONDS - t0))))"
  else
    tail -n 30 "$log" >&2
    say "FAIL $c: exit $rc ($(fmt $((SECONDS - t0))))"
    failed=$((failed + 1))
  fi
done

if [ "$failed" -eq 0 ]; then
  say "PASS: ${#cmds[@]} commands on a fresh Debian 12 root, total $(fmt $((SECONDS - t_start)))"
else
  say "FAIL: $failed of ${#cmds[@]} commands failed, total $(fmt $((SECONDS - t_start)))"
  exit 1
fi
