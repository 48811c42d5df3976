# Turns a text file into a C array: cmake -DIN=file -DOUT=file.c -DNAME=symbol -P embed_text.cmake
# Used for data the binary carries (the entity extractor's dictionary), so nothing
# is read from the source tree at run time.
file(READ ${IN} content HEX)
string(LENGTH "${content}" hexlen)
math(EXPR len "${hexlen} / 2")
string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," bytes "${content}")
file(WRITE ${OUT} "/* Generated from ${IN} by scripts/embed_text.cmake; do not edit. */\n#include <stddef.h>\nconst unsigned char ${NAME}[] = {${bytes}0x00};\nconst size_t ${NAME}_len = ${len};\n")
