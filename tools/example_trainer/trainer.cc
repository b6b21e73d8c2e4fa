// Example trainer: placeholder.
int main() { return 0; }
