// lumo-db: placeholder until the command is written.
int main() { return 0; }
