# Script mode: writes OUT (.cpp) defining `extern const char SYMBOL[]` with the text of IN.
file(READ ${IN} content)
set(delim "lumamba_tbl")
file(WRITE ${OUT}.tmp "// @generated from ${REL} by cmake/embed_file.cmake — do not edit\n")
file(APPEND ${OUT}.tmp "namespace lumamba::tables {\nextern const char ${SYMBOL}[];\n")
file(APPEND ${OUT}.tmp "const char ${SYMBOL}[] = R\"${delim}(${content})${delim}\";\n}  // namespace lumamba::tables\n")
file(RENAME ${OUT}.tmp ${OUT})
