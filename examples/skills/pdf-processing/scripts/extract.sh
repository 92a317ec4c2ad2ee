#!/bin/sh
# Print the text of each page of a PDF, keeping the layout (needs poppler-utils).
exec pdftotext -layout "$1" -
