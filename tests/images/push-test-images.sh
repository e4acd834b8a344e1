#!/usr/bin/env bash
# Builds the container images crix's integration tests pull, from Debian's
# busybox packages, and pushes them to a local distribution (docker-registry)
# v2 registry over plain HTTP. tests/images/README.md says what each image is
# for.
#
# Usage: push-test-images.sh HOST:PORT STORAGE_DIR [--big]
#   HOST:PORT    the registry, e.g. 127.0.0.1:5000
#   STORAGE_DIR  the registry's storage.filesystem.rootdirectory; the script
#                edits stored blobs there to make the tampered images
#   --big        also push crix/big:1 (about 200 MB of incompressible layers)
#
# Layers are reproducible (fixed mtimes, numeric owners, fixed entry order,
# gzip -n), so a second run finds every blob in place and only puts the
# manifests again. Progress goes to stderr; stdout gets one
# "name:tag manifest-digest" line per tag.
#
# Environment:
#   CRIX_TEST_IMAGES_CACHE  where a busybox package that is not installed is
#                           downloaded to (default ~/.cache/crix-test-images)
set -euo pipefail
umask 022
export LC_ALL=C

readonly MT_DOCKER_MANIFEST=application/vnd.docker.distribution.manifest.v2+json
readonly MT_DOCKER_CONFIG=application/vnd.docker.container.image.v1+json
readonly MT_DOCKER_LAYER_GZIP=application/vnd.docker.image.rootfs.diff.tar.gzip
readonly MT_OCI_MANIFEST=application/vnd.oci.image.manifest.v1+json
readonly MT_OCI_INDEX=application/vnd.oci.image.index.v1+json
readonly MT_OCI_CONFIG=application/vnd.oci.image.config.v1+json
readonly MT_OCI_LAYER=application/vnd.oci.image.layer.v1.tar
readonly MT_OCI_LAYER_GZIP=application/vnd.oci.image.layer.v1.tar+gzip
readonly MT_OCI_LAYER_ZSTD=application/vnd.oci.image.layer.v1.tar+zstd
readonly MT_UNKNOWN_LAYER=application/vnd.crix.unknown.layer

readonly EPOCH=1970-01-01T00:00:00Z
readonly DEFAULT_PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin

# Options shared by every tar call. The pax format is needed for xattrs; its
# extended header names would contain the PID, and atime/ctime would be
# recorded, so both are pinned to keep layers byte-for-byte reproducible.
# shellcheck disable=SC2054  # the commas belong to --pax-option
readonly -a TAR_OPTS=(
  --format=posix
  --pax-option=exthdr.name=%d/PaxHeaders/%f,delete=atime,delete=ctime
  --mtime=@0 --numeric-owner
  --xattrs --xattrs-include='user.*'
)

# ---------------------------------------------------------------- helpers

die() { echo "push-test-images: error: $*" >&2; exit 1; }
log() { echo "push-test-images: $*" >&2; }

sha256_of() { sha256sum "$1" | cut -d' ' -f1; }
size_of() { stat -c %s "$1"; }

# ------------------------------------------------------------------ HTTP

# http EXPECTED METHOD URL [curl options...]
# EXPECTED is a space separated list of acceptable status codes. Leaves the
# response headers in $HTTP_HEADERS, the body in $HTTP_BODY and the status in
# $HTTP_STATUS; dies with the registry's error body on any other status.
http() {
  local expected=$1 method=$2 url=$3
  shift 3
  local -a method_opt=(-X "$method")
  # curl -X HEAD would wait for a body that never comes.
  [[ $method == HEAD ]] && method_opt=(--head)
  HTTP_STATUS=$(curl -sS "${method_opt[@]}" -H 'Expect:' \
    -D "$HTTP_HEADERS" -o "$HTTP_BODY" -w '%{http_code}' "$@" "$url") \
    || die "$method $url: curl failed (is the registry at $REGISTRY up?)"
  [[ " $expected " == *" $HTTP_STATUS "* ]] \
    || die "$method $url: HTTP $HTTP_STATUS, expected $expected: $(head -c 600 "$HTTP_BODY")"
}

# header NAME: value of a header of the last response.
header() {
  grep -i "^$1:" "$HTTP_HEADERS" | tail -n 1 | cut -d' ' -f2- | tr -d '\r'
}

blob_exists() {  # REPO DIGEST
  http "200 404" HEAD "$BASE_URL/v2/$1/blobs/$2"
  [[ $HTTP_STATUS == 200 ]]
}

manifest_exists() {  # REPO REF MEDIA_TYPE
  http "200 404" HEAD "$BASE_URL/v2/$1/manifests/$2" -H "Accept: $3"
  [[ $HTTP_STATUS == 200 ]]
}

# push_blob REPO DIGEST: monolithic upload of a blob from $BLOBS, unless the
# repository already has it.
push_blob() {
  local repo=$1 digest=$2 file=$BLOBS/${2#sha256:} location sep='?'
  blob_exists "$repo" "$digest" && return 0
  http 202 POST "$BASE_URL/v2/$repo/blobs/uploads/"
  location=$(header Location)
  [[ -n $location ]] || die "POST /v2/$repo/blobs/uploads/: no Location header"
  [[ $location == /* ]] && location=$BASE_URL$location
  [[ $location == *\?* ]] && sep='&'
  http 201 PUT "$location${sep}digest=$digest" \
    -H 'Content-Type: application/octet-stream' --upload-file "$file"
}

# push_manifest REPO REF MEDIA_TYPE FILE
push_manifest() {
  local repo=$1 ref=$2 media_type=$3 file=$4 want got
  want=sha256:$(sha256_of "$file")
  http 201 PUT "$BASE_URL/v2/$repo/manifests/$ref" \
    -H "Content-Type: $media_type" --data-binary "@$file"
  got=$(header Docker-Content-Digest)
  [[ $got == "$want" ]] || die "$repo:$ref: registry says digest $got, expected $want"
}

# --------------------------------------------------------- blobs and JSON
# Descriptors and manifests are assembled with printf: every value in them is
# a media type, digest, number or platform name, none needing JSON escapes,
# and jq's start-up time would dominate the run.

# store_blob FILE: moves FILE into $BLOBS under its digest; sets BLOB_DIGEST
# and BLOB_SIZE.
store_blob() {
  local hex
  hex=$(sha256_of "$1")
  mv -f "$1" "$BLOBS/$hex"
  BLOB_DIGEST=sha256:$hex
  BLOB_SIZE=$(size_of "$BLOBS/$hex")
}

descriptor() {  # MEDIA_TYPE DIGEST SIZE [PLATFORM]
  local platform=
  [[ -n ${4:-} ]] && platform=,\"platform\":$(platform_json "$4")
  printf '{"mediaType":"%s","digest":"%s","size":%s%s}' "$1" "$2" "$3" "$platform"
}

join_by_comma() {
  local IFS=,
  echo "$*"
}

# oci_platform DPKG_ARCH: the OCI architecture, with "/variant" if any.
oci_platform() {
  case $1 in
    amd64) echo amd64 ;;
    arm64) echo arm64 ;;
    armhf) echo arm/v7 ;;
    armel) echo arm/v5 ;;
    i386) echo 386 ;;
    ppc64el) echo ppc64le ;;
    s390x) echo s390x ;;
    riscv64) echo riscv64 ;;
    mips64el) echo mips64le ;;
    loong64) echo loong64 ;;
    *) die "no OCI architecture known for Debian architecture '$1'" ;;
  esac
}

platform_json() {  # ARCH[/VARIANT]
  local variant=
  [[ $1 == */* ]] && variant=,\"variant\":\"${1#*/}\"
  printf '{"architecture":"%s","os":"linux"%s}' "${1%%/*}" "$variant"
}

# ------------------------------------------------------------ filesystems

new_root() {  # NAME: prints a fresh, empty staging directory
  local dir=$WORK/roots/$1
  rm -rf "$dir"
  mkdir -p "$dir"
  echo "$dir"
}

put_dir() {  # ROOT PATH MODE
  mkdir -p "$1/$2"
  chmod "$3" "$1/$2"
}

put_file() {  # ROOT PATH MODE CONTENT
  mkdir -p "$1/$(dirname "$2")"
  printf '%s' "$4" >"$1/$2"
  chmod "$3" "$1/$2"
}

put_link() {  # ROOT PATH TARGET
  ln -sfn "$3" "$1/$2"
}

# tar_add TAR ROOT UID:GID [-r] PATH...
# Appends PATHs (relative to ROOT) to the uncompressed TAR, in the given order,
# owned by UID:GID. With -r, directories are archived with their contents,
# sorted by name. Owners are set here rather than with chown so the script
# works unprivileged too; one call per owner keeps the entry order in hand.
tar_add() {
  local tar=$1 root=$2 owner=$3 part=$1.part
  shift 3
  local -a recursion=(--no-recursion)
  if [[ ${1:-} == -r ]]; then
    recursion=(--sort=name)
    shift
  fi
  # Each call writes a separate archive that is then concatenated: tar 1.34
  # silently drops xattrs when appending (-r) to an existing archive.
  tar -C "$root" "${TAR_OPTS[@]}" "${recursion[@]}" \
    --owner="${owner%:*}" --group="${owner#*:}" -cf "$part" -- "$@"
  if [[ -e $tar ]]; then
    tar -Af "$tar" "$part"
    rm -f "$part"
  else
    mv "$part" "$tar"
  fi
}

# tar_names TAR: entry names as stored (-P keeps "../" and "/" visible).
tar_names() { tar -P -tf "$1"; }

# tar_listing_has TAR REGEX: does a line of `tar -tv` match? (Not a pipe into
# grep -q: tar could die of SIGPIPE and pipefail would report that.)
tar_listing_has() {
  local listing
  listing=$(tar -P -tvf "$1")
  grep -q -- "$2" <<<"$listing"
}

# ---------------------------------------------------------------- layers

declare -A LAYER_DIGEST LAYER_SIZE LAYER_DIFF_ID LAYER_COMPRESSION LAYER_MT

# make_layer NAME TAR COMPRESSION [MEDIA_TYPE]
# COMPRESSION: gzip, gzip-fast, zstd or none. MEDIA_TYPE overrides the one
# that follows from the compression and the manifest format.
make_layer() {
  local name=$1 tar=$2 compression=$3 blob
  LAYER_DIFF_ID[$name]=sha256:$(sha256_of "$tar")
  case $compression in
    gzip) gzip -n -c "$tar" >"$tar.gz" && blob=$tar.gz ;;
    gzip-fast) gzip -n -1 -c "$tar" >"$tar.gz" && blob=$tar.gz ;;
    zstd) zstd -q -c --no-progress "$tar" >"$tar.zst" && blob=$tar.zst ;;
    none) cp "$tar" "$tar.copy" && blob=$tar.copy ;;
    *) die "make_layer: unknown compression $compression" ;;
  esac
  store_blob "$blob"
  LAYER_DIGEST[$name]=$BLOB_DIGEST
  LAYER_SIZE[$name]=$BLOB_SIZE
  LAYER_COMPRESSION[$name]=$compression
  LAYER_MT[$name]=${4:-}
}

layer_media_type() {  # FORMAT NAME
  if [[ -n ${LAYER_MT[$2]} ]]; then
    echo "${LAYER_MT[$2]}"
    return
  fi
  case $1/${LAYER_COMPRESSION[$2]} in
    docker/gzip*) echo "$MT_DOCKER_LAYER_GZIP" ;;
    oci/gzip*) echo "$MT_OCI_LAYER_GZIP" ;;
    oci/zstd) echo "$MT_OCI_LAYER_ZSTD" ;;
    oci/none) echo "$MT_OCI_LAYER" ;;
    *) die "layer $2: no $1 media type for ${LAYER_COMPRESSION[$2]}" ;;
  esac
}

# ---------------------------------------------------------------- images
# An image is assembled in globals: image_begin FORMAT, image_layer NAME...,
# image_config, image_manifest, then image_push. simple_image does all five.

image_begin() {  # docker|oci
  IMG_FORMAT=$1
  IMG_LAYERS=()
  IMG_CONFIG=
}

image_layer() { IMG_LAYERS+=("$@"); }

# image_config PLATFORM LABEL [JQ_FILTER]
# The config blob. Its "config" section has PATH, Cmd ["sh"], WorkingDir /
# and the label org.crix.test=LABEL, then goes through JQ_FILTER; diff_ids
# and history follow from the layers.
image_config() {
  local platform=$1 label=$2 filter=${3:-.} mt=$MT_OCI_CONFIG file=$WORK/config.json
  local l diff_ids=() names=()
  [[ $IMG_FORMAT == docker ]] && mt=$MT_DOCKER_CONFIG
  for l in "${IMG_LAYERS[@]}"; do
    diff_ids+=("${LAYER_DIFF_ID[$l]}")
    names+=("$l")
  done
  jq -nc --arg created "$EPOCH" --argjson platform "$(platform_json "$platform")" \
    --arg path "PATH=$DEFAULT_PATH" --arg test_label "$label" \
    --arg diff_ids "${diff_ids[*]}" --arg names "${names[*]}" "
    {created: \$created} + \$platform + {
      config: ({Env: [\$path], Cmd: [\"sh\"], WorkingDir: \"/\",
                Labels: {\"org.crix.test\": \$test_label}} | $filter),
      rootfs: {type: \"layers\", diff_ids: (\$diff_ids | split(\" \"))},
      history: [\$names | split(\" \")[] | {created: \$created,
                created_by: \"push-test-images.sh: layer \\(.)\"}]
    }" >"$file" || die "image_config: jq failed (filter: $filter)"
  store_blob "$file"
  IMG_CONFIG=$(descriptor "$mt" "$BLOB_DIGEST" "$BLOB_SIZE")
  IMG_CONFIG_DIGEST=$BLOB_DIGEST
}

# image_manifest: writes the manifest of the current image; sets MANIFEST_FILE,
# MANIFEST_MT, MANIFEST_DIGEST and MANIFEST_SIZE.
image_manifest() {
  local l layers=() file=$WORK/manifests/new.json
  [[ -n $IMG_CONFIG ]] || die "image_manifest: no config"
  MANIFEST_MT=$MT_OCI_MANIFEST
  [[ $IMG_FORMAT == docker ]] && MANIFEST_MT=$MT_DOCKER_MANIFEST
  for l in "${IMG_LAYERS[@]}"; do
    layers+=("$(descriptor "$(layer_media_type "$IMG_FORMAT" "$l")" \
      "${LAYER_DIGEST[$l]}" "${LAYER_SIZE[$l]}")")
  done
  printf '{"schemaVersion":2,"mediaType":"%s","config":%s,"layers":[%s]}' \
    "$MANIFEST_MT" "$IMG_CONFIG" "$(join_by_comma "${layers[@]}")" >"$file"
  MANIFEST_DIGEST=sha256:$(sha256_of "$file")
  MANIFEST_SIZE=$(size_of "$file")
  MANIFEST_FILE=$WORK/manifests/${MANIFEST_DIGEST#sha256:}.json
  mv -f "$file" "$MANIFEST_FILE"
}

# image_push REPO REF...: pushes config, layers and the manifest under each REF.
image_push() {
  local repo=$1 l ref
  shift
  push_blob "$repo" "$IMG_CONFIG_DIGEST"
  for l in "${IMG_LAYERS[@]}"; do push_blob "$repo" "${LAYER_DIGEST[$l]}"; done
  for ref in "$@"; do
    push_manifest "$repo" "$ref" "$MANIFEST_MT" "$MANIFEST_FILE"
    # Children of an index are pushed by digest; only tags get a summary line.
    [[ $ref == sha256:* ]] || summary "$repo:$ref" "$MANIFEST_DIGEST"
  done
}

# simple_image REPO:TAG FORMAT LABEL JQ_FILTER LAYER...: an image for this
# host's platform with one tag.
simple_image() {
  local ref=$1 format=$2 label=$3 filter=$4
  shift 4
  image_begin "$format"
  image_layer "$@"
  image_config "$HOST_PLATFORM" "$label" "$filter"
  image_manifest
  image_push "${ref%:*}" "${ref##*:}"
}

summary() { SUMMARY+=("$1 $2"); log "pushed $1 $2"; }

# ------------------------------------------------------------- busyboxes

is_dynamic() {
  local out
  out=$(ldd "$1" 2>/dev/null) || return 1
  [[ $out == *'=>'* ]]
}

# busybox_path static|dynamic: a busybox binary of that kind. The busybox and
# busybox-static packages conflict, so at most one is installed; the other
# one is downloaded with apt-get into the cache and unpacked there, once.
busybox_path() {
  local kind=$1 pkg=busybox-static candidate dl
  [[ $kind == dynamic ]] && pkg=busybox
  for candidate in /bin/busybox /usr/bin/busybox "$CACHE/$pkg/bin/busybox"; do
    [[ -x $candidate ]] || continue
    if { [[ $kind == dynamic ]] && is_dynamic "$candidate"; } ||
      { [[ $kind == static ]] && ! is_dynamic "$candidate"; }; then
      echo "$candidate"
      return
    fi
  done
  log "downloading Debian package $pkg into $CACHE"
  dl=$CACHE/download
  rm -rf "$dl" "${CACHE:?}/$pkg"
  mkdir -p "$dl"
  (cd "$dl" && apt-get download -qq "$pkg") >"$WORK/apt.log" 2>&1 \
    || die "apt-get download $pkg failed: $(cat "$WORK/apt.log")"
  dpkg-deb -x "$dl/$pkg"_*.deb "$CACHE/$pkg"
  rm -rf "$dl"
  candidate=$CACHE/$pkg/bin/busybox
  [[ -x $candidate ]] || die "$pkg has no bin/busybox"
  echo "$candidate"
}

# install_busybox ROOT BINARY APPLET...: /bin/busybox plus symlinks for those
# of the APPLETs this busybox has.
install_busybox() {
  local root=$1 bin=$2 applet
  shift 2
  put_dir "$root" bin 0755
  cp "$bin" "$root/bin/busybox"
  chmod 0755 "$root/bin/busybox"
  local -A have=()
  while read -r applet; do have[$applet]=1; done < <("$bin" --list)
  for applet in "$@"; do
    [[ -z ${have[$applet]:-} ]] || put_link "$root" "bin/$applet" busybox
  done
}

# copy_shared_libs ROOT BINARY: the libraries and the loader that ldd lists,
# at the paths ldd gives.
copy_shared_libs() {
  local root=$1 bin=$2 lib libs=()
  mapfile -t libs < <(ldd "$bin" | grep -o "/[^ ]*" | sort -u)
  ((${#libs[@]})) || die "ldd lists no libraries for $bin"
  for lib in "${libs[@]}"; do
    mkdir -p "$root$(dirname "$lib")"
    cp -L "$lib" "$root$lib"
  done
}

# ------------------------------------------------------------ busybox images

readonly PASSWD='root:x:0:0:root:/root:/bin/sh
crix:x:1000:1000:crix test user:/home/crix:/bin/sh
nobody:x:65534:65534:nobody:/nonexistent:/bin/false
'
readonly GROUP='root:x:0:
crix:x:1000:
extra:x:2000:crix
nogroup:x:65534:
'

readonly -a APPLETS=(
  sh sleep cat ls id echo env hostname mount umount ps stat touch mkdir rm rmdir
  grep wc head tail true false ping wget nc httpd ip stty top kill pwd printf
  test '[' sed awk tr readlink find ln dd od date cut sort seq du df uname
  whoami chmod chown cp mv tee xargs yes timeout nslookup sha256sum md5sum
  basename dirname mknod mkfifo nproc tty vi less which hexdump usleep
)

# Layer a of crix/busybox: busybox, users, the usual directories.
build_busybox_base() {
  local root tar=$WORK/busybox-base.tar d
  root=$(new_root busybox-base)
  install_busybox "$root" "$STATIC_BUSYBOX" "${APPLETS[@]}"
  for d in dev etc home proc sys var; do put_dir "$root" "$d" 0755; done
  put_dir "$root" root 0700
  put_dir "$root" tmp 1777
  put_dir "$root" home/crix 0755
  put_file "$root" etc/passwd 0644 "$PASSWD"
  put_file "$root" etc/group 0644 "$GROUP"
  tar_add "$tar" "$root" 0:0 -r bin dev etc
  tar_add "$tar" "$root" 0:0 home
  tar_add "$tar" "$root" 1000:1000 home/crix
  tar_add "$tar" "$root" 0:0 proc root sys tmp var
  make_layer busybox-base "$tar" gzip
}

# Layer b: the things an unpacker has to get right.
build_busybox_data() {
  local root tar=$WORK/busybox-data.tar
  root=$(new_root busybox-data)
  put_dir "$root" data 0755
  put_dir "$root" data/dir1 0755
  put_dir "$root" data/opaque 0755
  put_file "$root" data/dir1/a 0644 $'a, original\n'
  put_file "$root" data/dir1/b 0644 $'b\n'
  put_file "$root" data/removeme 0644 $'removed by the next layer\n'
  put_file "$root" data/opaque/x 0644 $'x, hidden by the opaque whiteout\n'
  put_file "$root" data/opaque/y 0644 $'y, hidden by the opaque whiteout\n'
  put_file "$root" data/hardsrc 0644 $'hard linked content\n'
  ln "$root/data/hardsrc" "$root/data/hard1"
  put_link "$root" data/link dir1/a
  put_link "$root" data/abslink /data/dir1/b
  put_file "$root" data/owned 0640 $'owned by 1000:2000\n'
  put_file "$root" data/suid 4755 $'#!/bin/sh\necho not really setuid\n'
  put_file "$root" data/xattr 0644 $'has user.crix=1\n'
  if ! { command -v setfattr >/dev/null &&
    setfattr -n user.crix -v 1 "$root/data/xattr" 2>/dev/null; }; then
    log "note: cannot set user xattrs here (no setfattr or no support); /data/xattr has none"
  fi
  # hardsrc goes before hard1, so hard1 is the hard link entry.
  tar_add "$tar" "$root" 0:0 data data/abslink data/dir1 data/dir1/a data/dir1/b \
    data/hardsrc data/hard1 data/link data/opaque data/opaque/x data/opaque/y
  tar_add "$tar" "$root" 1000:2000 data/owned
  tar_add "$tar" "$root" 0:0 data/removeme data/suid data/xattr
  tar_listing_has "$tar" '^h.* data/hard1 link to data/hardsrc$' \
    || die "busybox-data layer: data/hard1 is not a hard link entry"
  make_layer busybox-data "$tar" gzip
}

# Layer c: a whiteout, an opaque directory and a modified file.
build_busybox_changes() {
  local root tar=$WORK/busybox-changes.tar
  root=$(new_root busybox-changes)
  put_dir "$root" data 0755
  put_dir "$root" data/dir1 0755
  put_dir "$root" data/opaque 0755
  put_file "$root" data/.wh.removeme 0644 ''
  put_file "$root" data/dir1/a 0644 $'a, modified by the changes layer\n'
  put_file "$root" data/opaque/.wh..wh..opq 0644 ''
  put_file "$root" data/opaque/z 0644 $'z, added after the opaque whiteout\n'
  tar_add "$tar" "$root" 0:0 data data/.wh.removeme data/dir1 data/dir1/a \
    data/opaque data/opaque/.wh..wh..opq data/opaque/z
  make_layer busybox-changes "$tar" gzip
}

push_busybox_images() {
  build_busybox_base
  build_busybox_data
  build_busybox_changes
  local -a layers=(busybox-base busybox-data busybox-changes)
  local common='. + {StopSignal: "SIGTERM", Volumes: {"/vol": {}}}'
  image_begin docker
  image_layer "${layers[@]}"
  image_config "$HOST_PLATFORM" busybox "$common"
  image_manifest
  image_push crix/busybox 1.35 latest

  simple_image crix/busybox-user:1 docker busybox-user \
    "$common + {User: \"crix\", WorkingDir: \"/home/crix\"}" "${layers[@]}"
  simple_image crix/busybox-uid:1 docker busybox-uid \
    "$common + {User: \"1000:2000\"}" "${layers[@]}"
  simple_image crix/busybox-quit:1 docker busybox-quit \
    "$common + {StopSignal: \"SIGQUIT\"}" "${layers[@]}"
  # A volume over a populated directory: its files are copied up.
  simple_image crix/busybox-vol:1 docker busybox-vol \
    "$common + {Volumes: {\"/data\": {}}}" "${layers[@]}"
}

# PID 1 of a container gets no default signal handlers, so the pause image's
# shell traps TERM and INT to exit at once. jq reads it from the environment.
export PAUSE_SCRIPT="trap 'exit 0' TERM INT; while :; do sleep 3600 & wait; done"

# crix/pause:1, and crix/multiarch:1, which reuses its manifest for this host.
push_pause_and_multiarch() {
  local root tar=$WORK/pause.tar
  root=$(new_root pause)
  # sleep needs its own link: this busybox's sh only runs applets found on PATH.
  install_busybox "$root" "$STATIC_BUSYBOX" sh sleep
  tar_add "$tar" "$root" 0:0 -r bin
  make_layer pause "$tar" gzip
  # shellcheck disable=SC2016  # $ENV is jq's
  simple_image crix/pause:1 oci pause \
    'del(.Cmd) + {Entrypoint: ["/bin/sh", "-c", $ENV.PAUSE_SCRIPT]}' pause

  # An index's children must be in the repository before the index.
  local -a entries=()
  local platform name index=$WORK/manifests/index.json
  image_push crix/multiarch "$MANIFEST_DIGEST"
  entries+=("$(descriptor "$MANIFEST_MT" "$MANIFEST_DIGEST" "$MANIFEST_SIZE" "$HOST_PLATFORM")")
  for platform in arm64 arm/v7 s390x; do
    [[ $platform == "$HOST_PLATFORM" ]] && continue
    ((${#entries[@]} < 3)) || break
    name=arch-${platform//\//-}
    root=$(new_root "$name")
    put_file "$root" arch 0644 "$platform"$'\n'
    tar_add "$WORK/$name.tar" "$root" 0:0 arch
    make_layer "$name" "$WORK/$name.tar" gzip
    image_begin oci
    image_layer "$name"
    image_config "$platform" multiarch '. + {Cmd: ["cat", "/arch"]}'
    image_manifest
    image_push crix/multiarch "$MANIFEST_DIGEST"
    entries+=("$(descriptor "$MANIFEST_MT" "$MANIFEST_DIGEST" "$MANIFEST_SIZE" "$platform")")
  done
  printf '{"schemaVersion":2,"mediaType":"%s","manifests":[%s]}' \
    "$MT_OCI_INDEX" "$(join_by_comma "${entries[@]}")" >"$index"
  push_manifest crix/multiarch 1 "$MT_OCI_INDEX" "$index"
  summary crix/multiarch:1 "sha256:$(sha256_of "$index")"
}

# crix/busybox-dyn:1: the dynamically linked busybox and its libraries in a
# zstd layer, users in an uncompressed one.
push_busybox_dyn() {
  local root top
  root=$(new_root dyn)
  install_busybox "$root" "$DYNAMIC_BUSYBOX" sh sleep cat echo ls id true false env
  copy_shared_libs "$root" "$DYNAMIC_BUSYBOX"
  mapfile -t top < <(ls "$root")
  tar_add "$WORK/dyn.tar" "$root" 0:0 -r "${top[@]}"
  make_layer dyn "$WORK/dyn.tar" zstd

  root=$(new_root dyn-etc)
  put_dir "$root" etc 0755
  put_file "$root" etc/passwd 0644 "$PASSWD"
  put_file "$root" etc/group 0644 "$GROUP"
  tar_add "$WORK/dyn-etc.tar" "$root" 0:0 -r etc
  make_layer dyn-etc "$WORK/dyn-etc.tar" none
  simple_image crix/busybox-dyn:1 oci busybox-dyn . dyn dyn-etc
}

# ---------------------------------------------------------- hostile images

# hostile_tar NAME ROOT TRANSFORM PATH...: prints the path of a tar whose
# entry names (or link targets) tar's --transform rewrote; -P keeps the "../"
# and leading "/" that tar would otherwise strip.
hostile_tar() {
  local tar=$WORK/$1.tar root=$2 transform=$3
  shift 3
  tar -C "$root" "${TAR_OPTS[@]}" --no-recursion --owner=0 --group=0 \
    -P --transform="$transform" -cf "$tar" -- "$@"
  echo "$tar"
}

push_evil_images() {
  local root tar

  root=$(new_root evil-dotdot)
  put_file "$root" dotdot 0644 $'escaped via ../\n'
  tar=$(hostile_tar evil-dotdot "$root" 's,^dotdot$,../../../../tmp/crix-escape-dotdot,' dotdot)
  [[ $(tar_names "$tar") == ../../../../tmp/crix-escape-dotdot ]] \
    || die "evil-dotdot: tar stripped the ../"
  make_layer evil-dotdot "$tar" gzip
  simple_image crix/evil-dotdot:1 oci hostile . evil-dotdot

  root=$(new_root evil-abs)
  put_file "$root" abs 0644 $'escaped via an absolute name\n'
  tar=$(hostile_tar evil-abs "$root" 's,^abs$,/tmp/crix-escape-abs,' abs)
  [[ $(tar_names "$tar") == /tmp/crix-escape-abs ]] || die "evil-abs: tar stripped the /"
  make_layer evil-abs "$tar" gzip
  simple_image crix/evil-abs:1 oci hostile . evil-abs

  # A symlink to /tmp, then a file "through" it. On disk a directory cannot
  # have the symlink's name, so the file is staged elsewhere and renamed.
  root=$(new_root evil-symlink)
  put_link "$root" escape /tmp
  put_file "$root" staged/crix-escape-symlink 0644 $'escaped via a symlink\n'
  tar=$(hostile_tar evil-symlink "$root" 's,^staged/,escape/,' escape staged/crix-escape-symlink)
  [[ $(tar_names "$tar" | paste -sd' ') == 'escape escape/crix-escape-symlink' ]] \
    || die "evil-symlink: unexpected entries"
  make_layer evil-symlink "$tar" gzip

  # A hard link whose target climbs out of the root. tar writes a hard link
  # entry only for the second name of a file, so a real pair is archived with
  # the link target renamed (flags RS: not names, not symlink targets), then
  # the first name is deleted from the archive.
  root=$(new_root evil-hardlink)
  put_file "$root" target 0644 $'hard link placeholder\n'
  ln "$root/target" "$root/hardescape"
  tar=$(hostile_tar evil-hardlink "$root" 's,^target$,../../../../etc/passwd,RS' target hardescape)
  tar -P --delete -f "$tar" target
  tar_listing_has "$tar" '^h.* hardescape link to \.\./\.\./\.\./\.\./etc/passwd$' \
    || die "evil-hardlink: no hard link entry to ../../../../etc/passwd"
  make_layer evil-hardlink "$tar" gzip
  simple_image crix/evil-symlink:1 oci hostile . evil-symlink evil-hardlink
  simple_image crix/evil-hardlink:1 oci hostile . evil-hardlink

  # The registry takes any layer media type; the content is a plain tar.
  root=$(new_root unknown-media)
  put_file "$root" unknown 0644 $'layer with an unknown media type\n'
  tar_add "$WORK/unknown-media.tar" "$root" 0:0 unknown
  make_layer unknown-media "$WORK/unknown-media.tar" none "$MT_UNKNOWN_LAYER"
  simple_image crix/unknown-media:1 oci unknown-media . unknown-media
}

# overwrite_stored_blob DIGEST FILE same-size|any-size: replaces the bytes the
# registry keeps for DIGEST (layers and manifests alike).
overwrite_stored_blob() {
  local hex=${1#sha256:} data
  data=$STORAGE/docker/registry/v2/blobs/sha256/${hex:0:2}/$hex/data
  [[ -f $data ]] || die "$data not found: is $STORAGE the registry's storage root?"
  if [[ $3 == same-size && $(size_of "$data") != $(size_of "$2") ]]; then
    die "overwrite_stored_blob: $2 and $data differ in size"
  fi
  cat "$2" >"$data"
}

# tampered_tar OUT WORD: a layer with one file of 512 lines of WORD.
tampered_tar() {
  local root line
  root=$(new_root "tampered-$2")
  printf -v line '%s\n' "$2"
  put_file "$root" crix-tampered 0644 "$(printf "$line%.0s" {1..512})"
  rm -f "$1"
  tar_add "$1" "$root" 0:0 crix-tampered
}

# crix/tampered:1: after the push, the stored layer is replaced by a different
# tar+gzip of the same length, valid in itself, so that only checking the
# digest can tell.
push_tampered() {
  local good=$WORK/tampered-good.tar forged=$WORK/tampered-forged.tar k
  tampered_tar "$good" genuine
  gzip -n -c "$good" >"$good.gz"
  # Whether a forged word deflates to exactly the same length is luck; try a
  # few, in a fixed order so every run forges the same bytes.
  for k in {10..99}; do
    tampered_tar "$forged" "forge$k"
    gzip -n -c "$forged" >"$forged.gz"
    [[ $(size_of "$forged.gz") == $(size_of "$good.gz") ]] && break
  done
  [[ $(size_of "$forged.gz") == $(size_of "$good.gz") ]] \
    || die "tampered: found no forged layer as long as the genuine one"
  make_layer tampered "$good" gzip
  simple_image crix/tampered:1 oci tampered . tampered
  overwrite_stored_blob "${LAYER_DIGEST[tampered]}" "$forged.gz" same-size
  http 200 GET "$BASE_URL/v2/crix/tampered/blobs/${LAYER_DIGEST[tampered]}"
  cmp -s "$HTTP_BODY" "$forged.gz" || die "tampered: the registry does not serve the forged layer"
}

# What crix/bad-manifest:1 serves. The registry parses a stored manifest
# before serving it (truncated JSON gets a 500), so this is JSON that Go's
# decoder takes but a strict parser must not: a string with bytes that are
# not UTF-8, which RFC 8259 forbids. Should a parser let that pass, the config
# digest is malformed, its size negative, and the bytes do not match the
# manifest's digest anyway.
bad_manifest_bytes() {
  printf '%s' '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json",' \
    '"config":{"mediaType":"application/vnd.oci.image.config.v1+json",' \
    '"digest":"sha256:corrupted","size":-1},"layers":[],' \
    '"annotations":{"org.crix.test":"not UTF-8: '
  printf '\xff\xfe\xc0'
  printf '%s' '"}}'
}

# crix/bad-manifest:1: a valid manifest is pushed, then its stored bytes are
# replaced by bad_manifest_bytes.
push_bad_manifest() {
  local root garbage=$WORK/bad-manifest.garbage
  root=$(new_root bad-manifest)
  put_file "$root" bad-manifest 0644 $'layer of an image whose manifest gets corrupted\n'
  tar_add "$WORK/bad-manifest.tar" "$root" 0:0 bad-manifest
  make_layer bad-manifest "$WORK/bad-manifest.tar" gzip
  simple_image crix/bad-manifest:1 oci bad-manifest . bad-manifest
  bad_manifest_bytes >"$garbage"
  overwrite_stored_blob "$MANIFEST_DIGEST" "$garbage" any-size
  http 200 GET "$BASE_URL/v2/crix/bad-manifest/manifests/1" -H "Accept: $MT_OCI_MANIFEST"
  cmp -s "$HTTP_BODY" "$garbage" \
    || die "bad-manifest: the registry does not serve the corrupted manifest"
}

# ------------------------------------------------------------------- big

# crix/big:1: five layers of random data, about 200 MB compressed. Random data
# is not reproducible, so an existing crix/big:1 is left as it is.
push_big() {
  if manifest_exists crix/big 1 "$MT_OCI_MANIFEST"; then
    summary crix/big:1 "$(header Docker-Content-Digest)"
    return
  fi
  local i f root tar layers=()
  for i in 1 2 3 4 5; do
    root=$(new_root "big$i")
    for f in 1 2 3 4; do head -c $((10 * 1000 * 1000)) /dev/urandom >"$root/random$f"; done
    tar=$WORK/big$i.tar
    tar_add "$tar" "$root" 0:0 random1 random2 random3 random4
    rm -rf "$root"
    make_layer "big$i" "$tar" gzip-fast
    rm -f "$tar"
    layers+=("big$i")
  done
  simple_image crix/big:1 oci big . "${layers[@]}"
}

# ------------------------------------------------------------------ main

main() {
  (($# == 2 || $# == 3)) || die "usage: $0 HOST:PORT STORAGE_DIR [--big]"
  REGISTRY=$1
  STORAGE=$2
  local big=0 tool
  if (($# == 3)); then
    [[ $3 == --big ]] || die "unknown option $3 (usage: $0 HOST:PORT STORAGE_DIR [--big])"
    big=1
  fi
  [[ -d $STORAGE ]] || die "storage directory $STORAGE does not exist"
  for tool in curl jq tar gzip zstd sha256sum ldd dpkg; do
    command -v "$tool" >/dev/null || die "$tool is missing (scripts/install-deps.sh installs it)"
  done

  BASE_URL=http://$REGISTRY
  CACHE=${CRIX_TEST_IMAGES_CACHE:-${XDG_CACHE_HOME:-${HOME:-/tmp}/.cache}/crix-test-images}
  WORK=$(mktemp -d "${TMPDIR:-/tmp}/crix-test-images.XXXXXX")
  trap 'rm -rf "$WORK"' EXIT
  BLOBS=$WORK/blobs
  HTTP_HEADERS=$WORK/http.headers
  HTTP_BODY=$WORK/http.body
  mkdir -p "$BLOBS" "$WORK/manifests" "$WORK/roots"
  SUMMARY=()

  http 200 GET "$BASE_URL/v2/"
  HOST_PLATFORM=$(oci_platform "$(dpkg --print-architecture)")
  STATIC_BUSYBOX=$(busybox_path static)
  DYNAMIC_BUSYBOX=$(busybox_path dynamic)

  push_busybox_images
  push_pause_and_multiarch
  push_busybox_dyn
  push_evil_images
  push_tampered
  push_bad_manifest
  if ((big)); then push_big; fi
  printf '%s\n' "${SUMMARY[@]}"
}

main "$@"
