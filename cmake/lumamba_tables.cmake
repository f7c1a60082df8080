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

# Embeds every file of a folder and writes an index: `const EmbeddedFile <symbol>[]` of
# {file name, text} and `<symbol>Count` (namespace lumamba::tables).
#   lumamba_embed_folder(<folder> <C symbol> <output list variable>)
function(lumamba_embed_folder folder symbol out_var)
  file(GLOB files LIST_DIRECTORIES false RELATIVE ${folder} ${folder}/*)
  list(SORT files)
  set(sources)
  set(entries "")
  set(decls "")
  set(i 0)
  foreach(f ${files})
    set(file_symbol ${symbol}File${i})
    lumamba_embed_table(${folder}/${f} ${file_symbol} sources)
    string(APPEND decls "extern const char ${file_symbol}[];\n")
    string(APPEND entries "    {\"${f}\", ${file_symbol}},\n")
    math(EXPR i "${i} + 1")
  endforeach()
  set(index ${CMAKE_CURRENT_BINARY_DIR}/generated/${symbol}Index.cpp)
  file(RELATIVE_PATH rel ${PROJECT_SOURCE_DIR} ${folder})
  file(CONFIGURE OUTPUT ${index} CONTENT
"// @generated from ${rel}/ by cmake/lumamba_tables.cmake — do not edit
#include <cstddef>
namespace lumamba::tables {
struct EmbeddedFile {
  const char* name;
  const char* text;
};
${decls}extern const EmbeddedFile ${symbol}[];
extern const std::size_t ${symbol}Count;
const EmbeddedFile ${symbol}[] = {
${entries}};
const std::size_t ${symbol}Count = ${i};
}  // namespace lumamba::tables
")
  set_property(DIRECTORY ${PROJECT_SOURCE_DIR} APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS ${folder})
  set(${out_var} ${${out_var}} ${sources} ${index} PARENT_SCOPE)
endfunction()
