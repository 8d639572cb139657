def write_report(store, out=None):
    raise NotImplementedError
