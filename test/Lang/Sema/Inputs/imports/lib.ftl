// A small library for import tests.
def train_lm(m: model, d: data, n: int) {
  train m with lm(d) steps n
}

def needs_prefs(m: model, d: data) {
  train m with dpo(d) steps 1
}
