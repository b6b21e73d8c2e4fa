# hooks.off 261129.000.52t 26-11-29-023648
./build/tests/lumodb_tests '--gtest_filter=GitSnapshot*'
# hooks.off 261129.001.b5t 26-11-29-023648
./build/tests/lumodb_tests '--gtest_filter=GitSnapshot*'
# hooks.off 261129.000.62t 26-11-29-023822
./build/tests/lumodb_tests '--gtest_filter=GitSnapshot*'
# hooks.off 261129.001.34t 26-11-29-023822
./build/tests/lumodb_tests '--gtest_filter=GitSnapshot*'
# hooks.off 261129.000.d9t 26-11-29-030443
./build/tests/lumodb_tests '--gtest_filter=GitSnapshot*'
# hooks.off 261129.001.44t 26-11-29-030443
./build/tests/lumodb_tests '--gtest_filter=GitSnapshot*'
