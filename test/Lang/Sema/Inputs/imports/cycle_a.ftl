import "cycle_b.ftl"
def a() { log 1 }
