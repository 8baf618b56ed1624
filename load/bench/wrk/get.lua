-- wrk script: the URL as given (a GET), with the bench's summary line.
dofile((os.getenv("BENCH_LUA_DIR") or ".") .. "/common.lua")
