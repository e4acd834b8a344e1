# crix_layer(NAME SOURCES... DEPS ...) builds the static library crix_NAME
# for one folder of src/ and links only the layers it names, so that the
# linker enforces DESIGN.md's layering.
function(crix_layer name)
  cmake_parse_arguments(L "" "" "SOURCES;DEPS" ${ARGN})
  add_library(crix_${name} STATIC ${L_SOURCES})
  target_include_directories(crix_${name} PUBLIC ${PROJECT_SOURCE_DIR}/src)
  target_link_libraries(crix_${name} PUBLIC ${L_DEPS})
  crix_warnings(crix_${name})
endfunction()

function(crix_warnings target)
  target_compile_options(${target} PRIVATE -Wall -Wextra -Wshadow -Wnon-virtual-dtor -Wno-missing-field-initializers)
  if(CRIX_WERROR)
    target_compile_options(${target} PRIVATE -Werror)
  endif()
endfunction()
