# SPDX-License-Identifier: GPL-2.0-or-later
# A private apt configuration (sourced, never run): fetch packages and
# source tarballs of another Debian suite (bookworm-backports) without
# touching the machine's apt sources, lists or caches.  Used by
# ci/qemu-fetch (binary packages) and ci/qemu-build (source tarballs,
# build tools).
#
#   mf_debian_uri                    the machine's own Debian archive URIs
#                                    (deb822 .sources, then one-line .list
#                                    files), security suites left out
#   mf_apt_private_config DIR SUITE URI TYPES
#                                    sources file (TYPES: "deb", "deb-src"
#                                    or "deb deb-src"), lists and caches
#                                    under DIR; sets MF_APT_PRIVATE_OPTS
#   mf_apt_private_init DIR SUITE    the above with the machine's URI and
#                                    both types, then `apt-get update` of
#                                    that suite once (later calls reuse it)
#   mf_apt_private_get ARGS...       apt-get with the private options
#
# Failures return non-zero with a message that says what was missing.

MF_DEBIAN_KEYRING=/usr/share/keyrings/debian-archive-keyring.gpg
MF_APT_PRIVATE_OPTS=()

mf_debian_uri()
{
    local f
    for f in /etc/apt/sources.list.d/*.sources; do
        [ -f "$f" ] || continue
        awk '
            function flush() {
                if (deb && uri != "" && rel) { print uri; found = 1; exit }
                deb = 0; uri = ""; rel = 0
            }
            /^[[:space:]]*$/ { flush(); next }
            /^[[:space:]]*#/ { next }
            tolower($1) == "types:" { for (i = 2; i <= NF; i++)
                                          if ($i == "deb") deb = 1 }
            tolower($1) == "uris:" { uri = $2 }
            tolower($1) == "suites:" { for (i = 2; i <= NF; i++)
                                           if ($i !~ /-security$/) rel = 1 }
            END { if (!found) flush() }
        ' "$f"
    done
    for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
        [ -f "$f" ] || continue
        awk '$1 == "deb" {
                 i = 2
                 if ($2 ~ /^\[/) { while (i <= NF && $i !~ /\]$/) i++; i++ }
                 if ($(i + 1) !~ /-security$/) print $i
             }' "$f"
    done
}

mf_apt_private_config()
{
    local dir=$1 suite=$2 uri=$3 types=$4 t

    mkdir -p "$dir/lists/partial" "$dir/cache/archives/partial" || return 1
    : >"$dir/sources.list" || return 1
    for t in $types; do
        echo "$t [signed-by=$MF_DEBIAN_KEYRING] $uri $suite main" \
            >>"$dir/sources.list"
    done
    MF_APT_PRIVATE_OPTS=(
        -o "Dir::Etc::SourceList=$dir/sources.list"
        -o "Dir::Etc::SourceParts=/dev/null"
        -o "Dir::State::Lists=$dir/lists"
        -o "Dir::Cache=$dir/cache"
        -o "Dir::Cache::archives=$dir/cache/archives"
        -o "Dir::Cache::pkgcache="
        -o "Dir::Cache::srcpkgcache="
    )
    if [ "$(id -u)" = 0 ]; then
        # _apt may not be able to enter the build directory.
        MF_APT_PRIVATE_OPTS+=(-o "APT::Sandbox::User=root")
    fi
}

mf_apt_private_init()
{
    local dir=$1 suite=$2 uri

    uri=${MFCOLO_DEBIAN_URI:-$(mf_debian_uri | head -n 1)}
    if [ -z "$uri" ]; then
        echo "apt: no Debian archive URI in /etc/apt (set" \
            "MFCOLO_DEBIAN_URI)" >&2
        return 1
    fi
    mf_apt_private_config "$dir" "$suite" "$uri" "deb deb-src" || return 1
    if compgen -G "$dir/lists/*_${suite}_main_source_Sources*" \
        >/dev/null; then
        return 0
    fi
    if ! apt-get -q "${MF_APT_PRIVATE_OPTS[@]}" update </dev/null \
        >"$dir/update.log" 2>&1; then
        echo "apt: 'apt-get update' of $uri $suite failed" \
            "(no network to the Debian archive?):" >&2
        grep -E '^(Err|E:|W:)' "$dir/update.log" | head -n 4 >&2
        return 1
    fi
}

mf_apt_private_get()
{
    apt-get -q "${MF_APT_PRIVATE_OPTS[@]}" "$@" </dev/null
}
