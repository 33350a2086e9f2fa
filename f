data.toList().length
