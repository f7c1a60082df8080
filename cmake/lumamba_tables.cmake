# Turns a data table (TSV) into a generated .cpp holding its text, so the binary needs no share/
# folder (docs/style.md §9). The parser lives in hand-written code; the table stays data.
#   lumamba_embed_table(<source tsv> <C symbol> <output list variable>)
function(lumamba_embed_table tsv symbol out_var)
  get_filename_component(name ${tsv} NAME_WE)
  set(out ${CMAKE_CURRENT_BINARY_DIR}/generated/${symbol}.cpp)
  file(RELATIVE_PATH rel ${PROJECT_SOURCE_DIR} ${tsv})
  add_custom_command(
    OUTPUT ${out}
    COMMAND ${CMAKE_COMMAND} -DIN=${tsv} -DOUT=${out} -DSYMBOL=${symbol} -DREL=${rel}
            -P ${PROJECT_SOURCE_DIR}/cmake/embed_file.cmake
    DEPENDS ${tsv} ${PROJECT_SOURCE_DIR}/cmake/embed_file.cmake
    COMMENT "Embedding ${rel}")
  set(${out_var} ${${out_var}} ${out} PARENT_SCOPE)
endfunction()
