typedef int placeholder_rtmp_chunk;
