# Third-party libraries, as targets the layers link:
#   crix::grpc    gRPC (without TLS: crixd only listens on a unix socket) and protobuf
#   crix::sqlite  SQLite
#   crix::toml    toml++, header-only
#
# With CRIX_STATIC_DEPS (the default) gRPC, protobuf, abseil and SQLite come
# from Debian's static archives and crixd links libstdc++ statically too:
# the linker keeps only the code crixd uses, which roughly halves its idle
# RSS and start-up time against loading ~60 shared libraries.

find_package(Protobuf REQUIRED)
find_package(gRPC CONFIG REQUIRED)
find_package(SQLite3 REQUIRED)
find_package(PkgConfig REQUIRED)

add_library(crix_toml INTERFACE)
add_library(crix::toml ALIAS crix_toml)
target_compile_definitions(crix_toml INTERFACE TOML_HEADER_ONLY=1 TOML_EXCEPTIONS=1)

add_library(crix_grpc INTERFACE)
add_library(crix::grpc ALIAS crix_grpc)
add_library(crix_sqlite INTERFACE)
add_library(crix::sqlite ALIAS crix_sqlite)

if(CRIX_STATIC_DEPS)
  pkg_check_modules(GRPC_PC REQUIRED grpc++_unsecure protobuf)
  # Libraries grpc_unsecure.pc leaves out, and system ones kept shared.
  set(names ${GRPC_PC_STATIC_LIBRARIES} upb address_sorting re2 cares)
  list(REMOVE_DUPLICATES names)
  list(REMOVE_ITEM names rt m dl pthread atomic c)
  set(archives)
  foreach(name IN LISTS names)
    find_library(CRIX_STATIC_${name} NAMES lib${name}.a REQUIRED)
    list(APPEND archives ${CRIX_STATIC_${name}})
  endforeach()
  target_include_directories(crix_grpc SYSTEM INTERFACE ${GRPC_PC_INCLUDE_DIRS})
  target_link_libraries(crix_grpc INTERFACE -Wl,--start-group ${archives} -Wl,--end-group Threads::Threads rt dl)
  find_library(CRIX_STATIC_sqlite3 NAMES libsqlite3.a REQUIRED)
  target_include_directories(crix_sqlite SYSTEM INTERFACE ${SQLite3_INCLUDE_DIRS})
  target_link_libraries(crix_sqlite INTERFACE ${CRIX_STATIC_sqlite3} Threads::Threads dl m)
else()
  target_link_libraries(crix_grpc INTERFACE gRPC::grpc++_unsecure protobuf::libprotobuf)
  target_link_libraries(crix_sqlite INTERFACE SQLite::SQLite3)
endif()
