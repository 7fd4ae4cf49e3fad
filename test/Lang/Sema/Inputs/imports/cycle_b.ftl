import "cycle_a.ftl"
def b() { log 2 }
