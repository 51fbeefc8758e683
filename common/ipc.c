typedef int placeholder_ipc;
