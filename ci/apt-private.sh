# SPDX-License-Identifier: GPL-2.0-or-later
# A private apt configuration (sourced, never run): fetch packages and
# source tarballs of another Debian suite (bookworm-backports) without
# touching the machine's apt sources, lists or cache.
#
#   mf_apt_private_init DIR SUITE   sources file, lists and archives under
#                                   DIR; `apt-get update` of that suite
#                                   only, once (later calls reuse it)
#   mf_apt_private_get ARGS...      apt-get with the private configuration
#
# The archive URI is the machine's own Debian source (deb822 or one-line
# format), so the machine's mirror or snapshot is used.  Both return
# non-zero with a message that says what was missing.

mf_apt_private_uri()
{
    local f uri=""

    for f in /etc/apt/sources.list.d/*.sources; do
        [ -f "$f" ] || continue
        uri=$(awk '/^URIs:/ { for (i = 2; i <= NF; i++)
                                  if ($i ~ /debian\/?$/) { print $i; exit } }' \
              "$f")
        [ -n "$uri" ] && break
    done
    if [ -z "$uri" ] && [ -f /etc/apt/sources.list ]; then
        uri=$(awk '$1 == "deb" && $2 ~ /debian\/?$/ { print $2; exit }' \
              /etc/apt/sources.list)
    fi
    echo "${uri:-http://deb.debian.org/debian}"
}

MF_APT_PRIVATE_OPTS=()

mf_apt_private_init()
{
    local dir=$1 suite=$2 uri

    mkdir -p "$dir/lists/partial" "$dir/archives/partial" "$dir/cache" ||
        return 1
    uri=$(mf_apt_private_uri)
    printf 'deb %s %s main\ndeb-src %s %s main\n' \
        "$uri" "$suite" "$uri" "$suite" >"$dir/sources.list"
    MF_APT_PRIVATE_OPTS=(
        -o "Dir::Etc::SourceList=$dir/sources.list"
        -o "Dir::Etc::SourceParts=/dev/null"
        -o "Dir::State::Lists=$dir/lists"
        -o "Dir::Cache=$dir/cache"
        -o "Dir::Cache::archives=$dir/archives"
        -o "APT::Sandbox::User=root"
        -q
    )
    if ls "$dir/lists/"*_"$suite"_main_source_Sources* >/dev/null 2>&1; then
        return 0
    fi
    if ! apt-get "${MF_APT_PRIVATE_OPTS[@]}" update >"$dir/update.log" 2>&1; then
        echo "apt: 'apt-get update' of $uri $suite failed" \
            "(no network to the Debian archive?):" >&2
        tail -n 5 "$dir/update.log" >&2
        return 1
    fi
}

mf_apt_private_get()
{
    apt-get "${MF_APT_PRIVATE_OPTS[@]}" "$@"
}
