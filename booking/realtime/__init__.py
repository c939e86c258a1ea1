# placeholder until the realtime branch lands
def publish(channel, data):
    pass
